import { useEffect, useId, useRef, useState } from 'react';
import type { ArtifactRow, GroupRow } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { formatSize } from '../format/bytes';
import { plural } from './device-list';

// "Deploy to selected devices" (or, with no selection, to a static group):
// pick one of the hub's artifacts, then the hub creates the deployment and
// the console opens its page. Artifacts that devices will refuse (unsigned,
// untrusted key) are shown but cannot be picked.

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; rows: ArtifactRow[] };

type Groups = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; rows: GroupRow[] };

interface Props {
  /** the selected devices; without them the dialog asks for a group */
  deviceIds?: string[];
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
  const [groups, setGroups] = useState<Groups>({ state: 'loading' });
  const [group, setGroup] = useState('');
  const firstFocus = useRef<HTMLButtonElement>(null);
  const byGroup = deviceIds === undefined;

  useEffect(() => {
    firstFocus.current?.focus();
    if (byGroup) {
      fleet.groups.list().then(
        (rows) => {
          setGroups({ state: 'ready', rows });
          if (rows.length) setGroup((current) => current || rows[0].name);
        },
        (err: Error) => setGroups({ state: 'error', message: `Could not list groups: ${err.message}` }),
      );
    }
    fleet.artifacts.list().then(
      (rows) => {
        setLoad({ state: 'ready', rows });
        const first = rows.find((a) => a.signatureStatus === 'trusted');
        if (first) setArtifactId((current) => current || first.id);
      },
      (err: Error) => setLoad({ state: 'error', message: `Could not list artifacts: ${err.message}` }),
    );
  }, [byGroup]);

  async function create(): Promise<void> {
    setBusy(true);
    setError('');
    try {
      const target = deviceIds === undefined ? { group } : { deviceIds };
      const deployment = await fleet.deployments.create({ artifactId, ...target, allowDowngrade, force });
      onCreated(deployment.id);
    } catch (err) {
      setError(`The hub did not create the deployment: ${(err as Error).message}`);
      setBusy(false);
    }
  }

  return (
    <div className="backdrop" onKeyDown={(e) => e.key === 'Escape' && !busy && onCancel()}>
      <div role="dialog" aria-modal="true" aria-labelledby={titleId} className="dialog deploy-dialog">
        <h2 id={titleId}>{deviceIds === undefined ? 'New deployment' : `Deploy to ${plural(deviceIds.length, 'device')}`}</h2>
        {byGroup && <GroupChoice groups={groups} group={group} disabled={busy} onChange={setGroup} />}
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
          <button type="button" className="primary" disabled={!artifactId || (byGroup && !group) || busy} onClick={() => void create()}>
            {busy ? 'Deploying…' : 'Deploy'}
          </button>
        </div>
      </div>
    </div>
  );
}

function GroupChoice({ groups, group, disabled, onChange }: { groups: Groups; group: string; disabled: boolean; onChange: (name: string) => void }) {
  if (groups.state === 'loading') return <p className="muted">Loading groups…</p>;
  if (groups.state === 'error') {
    return (
      <p role="alert" className="notice error">
        {groups.message}
      </p>
    );
  }
  if (groups.rows.length === 0) {
    return (
      <p className="empty">
        No static groups on the hub yet: select devices on the <a href="#/devices">Devices</a> page and choose “Add to group…”, or deploy to the selection directly.
      </p>
    );
  }
  return (
    <label className="group-choice">
      Target group
      <select value={group} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
        {groups.rows.map((g) => (
          <option key={g.name} value={g.name}>
            {g.name} ({plural(g.deviceIds.length, 'device')})
          </option>
        ))}
      </select>
    </label>
  );
}
