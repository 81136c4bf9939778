import { useEffect, useId, useRef, useState } from 'react';
import type { ArtifactRow } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { formatSize } from '../format/bytes';
import { plural } from './device-list';

// "Deploy to selected devices": pick one of the hub's artifacts, then the
// hub creates the deployment and the console opens its page. Artifacts that
// devices will refuse (unsigned, untrusted key) are shown but cannot be picked.

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; rows: ArtifactRow[] };

interface Props {
  deviceIds: string[];
  onCancel: () => void;
  onCreated: (deploymentId: string) => void;
}

export function DeployDialog({ deviceIds, onCancel, onCreated }: Props) {
  const titleId = useId();
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [artifactId, setArtifactId] = useState('');
  const [allowDowngrade, setAllowDowngrade] = useState(false);
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const firstFocus = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    firstFocus.current?.focus();
    fleet.artifacts.list().then(
      (rows) => {
        setLoad({ state: 'ready', rows });
        const first = rows.find((a) => a.signatureStatus === 'trusted');
        if (first) setArtifactId((current) => current || first.id);
      },
      (err: Error) => setLoad({ state: 'error', message: `Could not list artifacts: ${err.message}` }),
    );
  }, []);

  async function create(): Promise<void> {
    setBusy(true);
    setError('');
    try {
      const deployment = await fleet.deployments.create({ artifactId, deviceIds, allowDowngrade, force });
      onCreated(deployment.id);
    } catch (err) {
      setError(`The hub did not create the deployment: ${(err as Error).message}`);
      setBusy(false);
    }
  }

  return (
    <div className="backdrop" onKeyDown={(e) => e.key === 'Escape' && !busy && onCancel()}>
      <div role="dialog" aria-modal="true" aria-labelledby={titleId} className="dialog deploy-dialog">
        <h2 id={titleId}>Deploy to {plural(deviceIds.length, 'device')}</h2>
        {load.state === 'loading' && <p className="muted">Loading artifacts…</p>}
        {load.state === 'error' && (
          <p role="alert" className="notice error">
            {load.message}
          </p>
        )}
        {load.state === 'ready' && load.rows.length === 0 && (
          <p className="empty">
            The hub has no artifacts yet: upload one on the <a href="#/artifacts">Artifacts</a> page first.
          </p>
        )}
        {load.state === 'ready' && load.rows.length > 0 && (
          <fieldset className="artifact-choice">
            <legend>Artifact</legend>
            {load.rows.map((a) => {
              const refused = a.signatureStatus !== 'trusted';
              return (
                <label key={a.id} className={refused ? 'refused' : undefined}>
                  <input type="radio" name="artifact" value={a.id} checked={artifactId === a.id} disabled={refused || busy} onChange={() => setArtifactId(a.id)} />
                  <span>
                    <strong>
                      {a.name} {a.version}
                    </strong>{' '}
                    <span className="muted">
                      for {a.deviceTypes.join(', ')} · {formatSize(a.size)}
                      {refused && ` · ${a.signatureStatus === 'unsigned' ? 'unsigned' : 'untrusted key'}: devices would refuse it`}
                    </span>
                  </span>
                </label>
              );
            })}
          </fieldset>
        )}
        <div className="options">
          <label>
            <input type="checkbox" checked={allowDowngrade} disabled={busy} onChange={(e) => setAllowDowngrade(e.target.checked)} /> Allow downgrade
          </label>
          <label>
            <input type="checkbox" checked={force} disabled={busy} onChange={(e) => setForce(e.target.checked)} /> Reinstall where already installed
          </label>
        </div>
        <p className="muted">Devices of another type are marked incompatible and left untouched.</p>
        {error && (
          <p role="alert" className="notice error">
            {error}
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" ref={firstFocus} onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="primary" disabled={!artifactId || busy} onClick={() => void create()}>
            {busy ? 'Deploying…' : 'Deploy'}
          </button>
        </div>
      </div>
    </div>
  );
}
