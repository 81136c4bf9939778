import { Fragment, useCallback, useState } from 'react';
import type { DeploymentDeviceRow } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { isFinalStatus } from '../format/deployment-status';
import { deploymentHref } from '../route';
import { usePoll } from '../use-poll';
import { DeploymentLog } from './deployment-log';
import { StatusBadge } from './status-badge';

// The device page's "Updates" section: every deployment this device was
// part of, newest first, with its outcome and log. Re-read every 2 s while
// one is still in progress.

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; rows: DeploymentDeviceRow[] };

export function DeviceUpdates({ deviceId }: { deviceId: string }) {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [open, setOpen] = useState<string | null>(null);
  const read = useCallback(
    () =>
      fleet.deployments.deviceHistory(deviceId).then(
        (rows) => setLoad({ state: 'ready', rows }),
        (err: Error) => setLoad({ state: 'error', message: `Could not read the update history: ${err.message}` }),
      ),
    [deviceId],
  );
  const live = load.state !== 'ready' || load.rows.some((r) => !isFinalStatus(r.status));
  usePoll(read, 2000, live);

  return (
    <section aria-labelledby="updates-title" className="panel">
      <h2 id="updates-title">Updates</h2>
      {load.state === 'loading' && <p className="muted">Loading the update history…</p>}
      {load.state === 'error' && (
        <p role="alert" className="notice error">
          {load.message}
        </p>
      )}
      {load.state === 'ready' && load.rows.length === 0 && <p className="muted">No deployment has targeted this device yet.</p>}
      {load.state === 'ready' && load.rows.length > 0 && (
        <table className="data-table" aria-label="Update history">
          <thead>
            <tr>
              <th scope="col">Deployment</th>
              <th scope="col">Artifact</th>
              <th scope="col">Status</th>
              <th scope="col">Reason</th>
              <th scope="col">Started</th>
              <th scope="col">Finished</th>
              <th scope="col">
                <span className="sr-only">Log</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {load.rows.map((r) => {
              const logId = `device-log-${r.deploymentId}`.replace(/[^A-Za-z0-9_-]/g, '_');
              const isOpen = open === r.deploymentId;
              return (
                <Fragment key={r.deploymentId}>
                  <tr data-testid="update-row" data-deployment-id={r.deploymentId} data-status={r.status}>
                    <td>
                      <a href={deploymentHref(r.deploymentId)}>{r.deploymentName}</a>
                    </td>
                    <td>
                      {r.artifactName} {r.artifactVersion}
                    </td>
                    <td>
                      <StatusBadge status={r.status} />
                    </td>
                    <td className="reason">{r.reason}</td>
                    <td>{r.startedMs ? new Date(r.startedMs).toLocaleString() : '—'}</td>
                    <td>{r.finishedMs ? new Date(r.finishedMs).toLocaleString() : '—'}</td>
                    <td>
                      <button
                        type="button"
                        aria-expanded={isOpen}
                        aria-controls={isOpen ? logId : undefined}
                        aria-label={`Log of ${r.deploymentName}`}
                        onClick={() => setOpen(isOpen ? null : r.deploymentId)}
                      >
                        {isOpen ? 'Hide log' : 'Log'}
                      </button>
                    </td>
                  </tr>
                  {isOpen && (
                    <tr className="log-row">
                      <td colSpan={7}>
                        <DeploymentLog id={logId} deploymentId={r.deploymentId} deviceId={deviceId} live={!isFinalStatus(r.status)} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
