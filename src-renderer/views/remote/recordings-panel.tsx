import { useEffect, useState } from 'react';
import type { RemoteSessionRow } from '../../../src-main/common/console-api';
import { fleet } from '../../api';
import { formatSize } from '../../format/bytes';
import { parseCast, type Cast } from './asciicast';
import { CastPlayer } from './cast-player';
import { formatDuration } from './format-duration';
import { errorText } from './remote-error';

// The hub's remote sessions of one device (newest first) and, for shells,
// their recordings played back in the console.
export function RecordingsPanel({ deviceId }: { deviceId: string }) {
  const [rows, setRows] = useState<RemoteSessionRow[] | null>(null);
  const [error, setError] = useState('');
  const [playing, setPlaying] = useState<{ id: string; cast: Cast } | null>(null);

  const refresh = () =>
    fleet.remote.sessions({ deviceId, limit: 100 }).then(
      (r) => {
        setRows(r);
        setError('');
      },
      (err) => setError(errorText(err)),
    );
  useEffect(() => {
    void refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [deviceId]);

  async function play(id: string) {
    try {
      setPlaying({ id, cast: parseCast(await fleet.remote.recording(id)) });
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <section className="recordings-panel" aria-label="Sessions and recordings">
      <div className="panel-tools">
        <button type="button" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      {error && (
        <p role="alert" className="notice error">
          {error}
        </p>
      )}
      {rows && rows.length === 0 && <p className="muted">No remote session with this device yet.</p>}
      {rows && rows.length > 0 && (
        <table className="sessions" aria-label="Remote sessions">
          <thead>
            <tr>
              <th>Started</th>
              <th>Kind</th>
              <th>Operator</th>
              <th>Detail</th>
              <th>Duration</th>
              <th>Ended</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.id} data-testid="session-row">
                <td>{new Date(s.startedMs).toLocaleString()}</td>
                <td>{s.kind}</td>
                <td>{s.operator}</td>
                <td className="mono">{s.detail}</td>
                <td>{s.endedMs ? formatDuration(s.endedMs - s.startedMs) : 'open'}</td>
                <td>{s.endReason}</td>
                <td>
                  {s.recordingBytes > 0 && (
                    <button type="button" onClick={() => void play(s.id)} aria-label={`Play recording ${s.id}`}>
                      Play ({formatSize(s.recordingBytes)}
                      {s.recordingTruncated ? ', cut at the cap' : ''})
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {playing && <CastPlayer key={playing.id} cast={playing.cast} name={`session-${playing.id}`} />}
    </section>
  );
}
