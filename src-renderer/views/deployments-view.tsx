import { useCallback, useState } from 'react';
import type { DeploymentRow } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { isFinalStatus } from '../format/deployment-status';
import { relativeTime } from '../format/relative-time';
import { deploymentHref } from '../route';
import { useNow } from '../use-now';
import { usePoll } from '../use-poll';
import { DeploymentWizard } from './deployment-wizard';
import { plural } from './device-list';
import { ProgressBar } from './progress-bar';
import { StatusBadge } from './status-badge';

// Every deployment on the hub, newest first, with how far each got. Asked
// of the hub every 2 s while the view is open and something is active.

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; rows: DeploymentRow[] };

export function DeploymentsView() {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [creating, setCreating] = useState(false);
  const now = useNow(30_000);
  const read = useCallback(
    () =>
      fleet.deployments.list().then(
        (rows) => setLoad({ state: 'ready', rows }),
        (err: Error) => setLoad({ state: 'error', message: `Could not list deployments: ${err.message}` }),
      ),
    [],
  );
  const anyActive = load.state !== 'ready' || load.rows.some((d) => d.status === 'active' || d.status === 'halted');
  usePoll(read, 2000, anyActive);

  return (
    <section className="deployments-view" aria-labelledby="deployments-title">
      <div className="toolbar">
        <h1 id="deployments-title">Deployments</h1>
        <button type="button" onClick={() => void read()}>
          Refresh
        </button>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New deployment…
        </button>
      </div>
      {creating && <DeploymentWizard onCancel={() => setCreating(false)} onCreated={(id) => (location.hash = deploymentHref(id))} />}
      {load.state === 'loading' && <p className="muted">Loading deployments…</p>}
      {load.state === 'error' && (
        <div role="alert" className="notice error">
          {load.message}
        </div>
      )}
      {load.state === 'ready' &&
        (load.rows.length === 0 ? (
          <p className="empty" role="status">
            No deployments yet. Select devices on the <a href="#/devices">Devices</a> page and choose “Deploy…”.
          </p>
        ) : (
          <table className="data-table" aria-labelledby="deployments-title">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Artifact</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {load.rows.map((d) => (
                <tr key={d.id} data-testid="deployment-row" data-deployment-id={d.id}>
                  <td>
                    <a href={deploymentHref(d.id)}>{d.name}</a>
                  </td>
                  <td>
                    {d.artifactName} {d.artifactVersion}
                  </td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td className="progress-cell">
                    <DeploymentProgress deployment={d} />
                  </td>
                  <td>
                    {relativeTime(d.createdMs, now)} <span className="muted">by {d.createdBy}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}

/** "3 of 5 devices done · 2 success, 1 failure" with a bar of the finished share. */
export function DeploymentProgress({ deployment: d }: { deployment: DeploymentRow }) {
  const entries = Object.entries(d.counts).filter(([, n]) => (n ?? 0) > 0) as [string, number][];
  const done = entries.filter(([s]) => isFinalStatus(s)).reduce((sum, [, n]) => sum + n, 0);
  const text = `${done} of ${plural(d.total, 'device')} done`;
  const failed = (d.counts.failure ?? 0) + (d.counts['rolled-back'] ?? 0);
  return (
    <div className="deployment-progress">
      <ProgressBar value={d.total ? done / d.total : 0} label={`Progress of ${d.name}`} text={text} tone={failed > 0 ? 'bad' : done === d.total ? 'ok' : 'progress'} />
      <span className="muted">
        {text}
        {entries.length > 0 && ' · '}
        {entries.map(([s, n]) => `${n} ${s.replace(/-/g, ' ')}`).join(', ')}
      </span>
    </div>
  );
}
