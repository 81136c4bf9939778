import { useCallback, useEffect, useState } from 'react';
import type { ArtifactRow, SignatureStatus } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { formatSize } from '../format/bytes';
import { useUploads } from '../stores/upload-store';
import { UploadPanel } from './upload-panel';

// The artifacts stored on the hub, and uploading new ones. Not cached: asked
// of the hub when the view opens, on Refresh and after each stored upload,
// so an offline console says so.

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; rows: ArtifactRow[] };

const SIGNATURE_TEXT: Record<SignatureStatus, string> = { trusted: 'trusted', 'untrusted-key': 'untrusted key', unsigned: 'unsigned' };

export function ArtifactsView() {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [busy, setBusy] = useState(true);

  // Sets state only when the hub answers, so the view-open effect can call it.
  const fetchList = useCallback(() => {
    fleet.artifacts
      .list()
      .then(
        (rows) => setLoad({ state: 'ready', rows }),
        (err: Error) => setLoad({ state: 'error', message: `Could not list artifacts: ${err.message}` }),
      )
      .finally(() => setBusy(false));
  }, []);

  const stored = useUploads((s) => s.stored);
  useEffect(() => fetchList(), [fetchList, stored]);

  const refresh = () => {
    setBusy(true);
    fetchList();
  };

  return (
    <section className="artifacts-view" aria-labelledby="artifacts-title">
      <div className="toolbar">
        <h1 id="artifacts-title">Artifacts</h1>
        <button type="button" onClick={refresh} disabled={busy}>
          Refresh
        </button>
      </div>
      <UploadPanel />
      {load.state === 'loading' && <p className="muted">Loading artifacts…</p>}
      {load.state === 'error' && (
        <div role="alert" className="notice error">
          {load.message}
        </div>
      )}
      {load.state === 'ready' &&
        (load.rows.length === 0 ? (
          <p className="empty" role="status">
            No artifacts on this hub yet. Drop one above, or upload it with <code>fleetctl artifacts upload FILE</code>.
          </p>
        ) : (
          <ArtifactTable rows={load.rows} />
        ))}
    </section>
  );
}

function ArtifactTable({ rows }: { rows: ArtifactRow[] }) {
  return (
    <table className="artifact-table" aria-labelledby="artifacts-title">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Version</th>
          <th scope="col">Device types</th>
          <th scope="col">Signature</th>
          <th scope="col">Size</th>
          <th scope="col">Payload</th>
          <th scope="col">Uploaded</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((a) => (
          <tr key={a.id} data-testid="artifact-row" data-artifact-id={a.id}>
            <td title={a.group !== a.name ? `group ${a.group}` : undefined}>{a.name}</td>
            <td>{a.version}</td>
            <td>{a.deviceTypes.join(', ')}</td>
            <td>
              <span className={`badge signature-${a.signatureStatus}`} title={a.keyId ? `key ${a.keyId}` : undefined}>
                {SIGNATURE_TEXT[a.signatureStatus]}
              </span>
            </td>
            <td className="num" title={`${a.size} bytes`}>
              {formatSize(a.size)}
            </td>
            <td>{a.payloadSummary}</td>
            <td>
              {new Date(a.uploadedMs).toLocaleString()} <span className="muted">by {a.uploadedBy}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
