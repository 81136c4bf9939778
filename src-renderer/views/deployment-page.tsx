import { Fragment, useCallback, useState } from 'react';
import { DEVICE_DEPLOYMENT_STATUSES, type DeploymentDetail, type DeploymentDeviceRow } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { formatSize } from '../format/bytes';
import { deviceProgress, isFinalStatus, statusText, statusTone } from '../format/deployment-status';
import { relativeTime } from '../format/relative-time';
import { deviceHref } from '../route';
import { useNow } from '../use-now';
import { usePoll } from '../use-poll';
import { ConfirmDialog } from './confirm-dialog';
import { DeploymentHistory } from './deployment-history';
import { DeploymentLog } from './deployment-log';
import { DeploymentProgress } from './deployments-view';
import { ProgressBar } from './progress-bar';
import { RolloutPanel, type RolloutAction } from './rollout-panel';
import { StatusBadge } from './status-badge';

// One deployment, live: re-read every second while the page is visible and
// any device is still working, with counts per status, the rollout (halt
// reason, window, bars per phase and stage, Continue/Pause/Resume), a
// progress bar and state per device (filtered by status on demand, selectable
// for a per-device Continue), its log, its history, and Abort.

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; detail: DeploymentDetail; error: string };

const POLL_MS = 1000;
// A finished deployment is still read now and then: a device the hub had
// marked aborted while it was already working reports its own final truth
// (rolled back, or success if it had committed) a little later.
const SETTLED_POLL_MS = 5000;

export function DeploymentPage({ id }: { id: string }) {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [confirm, setConfirm] = useState(false);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [openLogs, setOpenLogs] = useState<ReadonlySet<string>>(new Set());
  /** a status to show alone (large deployments: "which ones failed?"), or all */
  const [shown, setShown] = useState<string | null>(null);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const now = useNow(10_000);

  const read = useCallback(
    () =>
      fleet.deployments.get(id).then(
        (detail) => setLoad({ state: 'ready', detail, error: '' }),
        // Keep showing the last answer when a later read fails: say so above it.
        (err: Error) => setLoad((prev) => (prev.state === 'ready' ? { ...prev, error: err.message } : { state: 'error', message: err.message })),
      ),
    [id],
  );
  const live = load.state !== 'ready' || isOpen(load.detail.deployment.status) || load.detail.devices.some((d) => !isFinalStatus(d.status));
  usePoll(read, live ? POLL_MS : SETTLED_POLL_MS, true);

  async function abort(): Promise<void> {
    setConfirm(false);
    setBusy(true);
    try {
      await fleet.deployments.abort(id);
      setNotice({ kind: 'ok', text: 'Deployment aborted. Devices that had not committed the update roll back to their old version.' });
      await read();
    } catch (err) {
      setNotice({ kind: 'error', text: `Abort failed: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  }

  async function rolloutAction(action: RolloutAction): Promise<void> {
    setBusy(true);
    try {
      if (action.kind === 'continue') {
        await fleet.deployments.continue(id, action.target);
        setNotice({ kind: 'ok', text: `Continued ${action.what}.` });
        if (action.target.deviceIds) setSelected(new Set());
      } else if (action.kind === 'pause') {
        await fleet.deployments.pause(id);
        setNotice({ kind: 'ok', text: 'Deployment paused: no new device starts and no pause is released until you resume it.' });
      } else {
        await fleet.deployments.resume(id);
        setNotice({ kind: 'ok', text: 'Deployment resumed.' });
      }
      await read();
    } catch (err) {
      const what = action.kind === 'continue' ? `Continue (${action.what})` : action.kind === 'pause' ? 'Pause' : 'Resume';
      setNotice({ kind: 'error', text: `${what} failed: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  }

  const toggleSelected = (deviceId: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (!next.delete(deviceId)) next.add(deviceId);
      return next;
    });

  const toggleLog = (deviceId: string) =>
    setOpenLogs((prev) => {
      const next = new Set(prev);
      if (!next.delete(deviceId)) next.add(deviceId);
      return next;
    });

  const d = load.state === 'ready' ? load.detail.deployment : null;
  const phased = (d?.rollout?.phases.length ?? 0) > 1;
  const selectable = d !== null && isOpen(d.status);
  const columns = 6 + (phased ? 1 : 0) + (selectable ? 1 : 0);
  return (
    <article className="deployment-page" aria-labelledby="deployment-title">
      <a href="#/deployments" className="back">
        ← Back to deployments
      </a>
      <div className="toolbar">
        <h1 id="deployment-title">{d ? d.name : 'Deployment'}</h1>
        {d && <StatusBadge status={d.status} />}
        <span className="spacer" />
        {d && (
          <button type="button" className="danger" disabled={busy || !isOpen(d.status)} onClick={() => setConfirm(true)}>
            Abort…
          </button>
        )}
      </div>
      {load.state === 'loading' && <p className="muted">Loading…</p>}
      {load.state === 'error' && (
        <p role="alert" className="notice error">
          Could not read deployment {id}: {load.message}
        </p>
      )}
      {load.state === 'ready' && load.error && (
        <p role="alert" className="notice error">
          Could not refresh: {load.error}. Showing what the hub said last.
        </p>
      )}
      {notice && (
        <p role={notice.kind === 'error' ? 'alert' : 'status'} className={`notice ${notice.kind}`}>
          {notice.text}
        </p>
      )}
      {load.state === 'ready' && d && (
        <>
          <dl className="summary">
            <dt>Artifact</dt>
            <dd>
              {d.artifactName} {d.artifactVersion} <code className="muted">{d.artifactId.slice(0, 12)}</code>
            </dd>
            <dt>Created</dt>
            <dd>
              {new Date(d.createdMs).toLocaleString()} by {d.createdBy}
            </dd>
            {d.finishedMs > 0 && (
              <>
                <dt>{d.status === 'aborted' ? 'Aborted' : 'Finished'}</dt>
                <dd>
                  {new Date(d.finishedMs).toLocaleString()}
                  {d.abortedBy && ` by ${d.abortedBy}`}
                </dd>
              </>
            )}
            <dt>Options</dt>
            <dd>{[d.allowDowngrade && 'downgrade allowed', d.force && 'forced reinstall'].filter(Boolean).join(', ') || 'none'}</dd>
            <dt>Progress</dt>
            <dd>
              <DeploymentProgress deployment={d} />
            </dd>
          </dl>
          <RolloutPanel deployment={d} selected={[...selected].filter((s) => load.detail.devices.some((dev) => dev.deviceId === s))} busy={busy} onAction={(a) => void rolloutAction(a)} />
          <div role="group" aria-label="Show devices by status" className="status-counts">
            <button type="button" className="chip" aria-pressed={shown === null} onClick={() => setShown(null)}>
              all: {d.total}
            </button>
            {DEVICE_DEPLOYMENT_STATUSES.filter((s) => (d.counts[s] ?? 0) > 0 || shown === s).map((s) => (
              <button
                type="button"
                key={s}
                className={`chip badge tone-${statusTone(s)}`}
                aria-pressed={shown === s}
                data-testid={`count-${s}`}
                onClick={() => setShown(shown === s ? null : s)}
              >
                {statusText(s)}: {d.counts[s] ?? 0}
              </button>
            ))}
          </div>
          <table className="data-table device-deployments" aria-label="Devices in this deployment">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Reason</th>
                <th scope="col">Updated</th>
                {phased && <th scope="col">Phase</th>}
                <th scope="col">
                  <span className="sr-only">Log</span>
                </th>
                {selectable && (
                  <th scope="col">
                    <span className="sr-only">Select</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {load.detail.devices.filter((dev) => shown === null || dev.status === shown).map((dev) => (
                <Fragment key={dev.deviceId}>
                  <DeviceRow
                    device={dev}
                    now={now}
                    phased={phased}
                    logOpen={openLogs.has(dev.deviceId)}
                    onToggleLog={() => toggleLog(dev.deviceId)}
                    selected={selectable ? selected.has(dev.deviceId) : undefined}
                    onToggleSelected={() => toggleSelected(dev.deviceId)}
                  />
                  {openLogs.has(dev.deviceId) && (
                    <tr className="log-row">
                      <td colSpan={columns}>
                        <DeploymentLog id={logId(dev)} deploymentId={id} deviceId={dev.deviceId} live={!isFinalStatus(dev.status)} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
          <DeploymentHistory entries={load.detail.history} />
        </>
      )}
      {confirm && d && (
        <ConfirmDialog title="Abort deployment" confirmLabel="Abort deployment" canConfirm onCancel={() => setConfirm(false)} onConfirm={() => void abort()}>
          Abort “{d.name}”? Devices that have not started stay as they are; devices in the middle of the update roll back to their old version. Devices that
          already committed keep the new version.
        </ConfirmDialog>
      )}
    </article>
  );
}

const isOpen = (status: string) => status === 'active' || status === 'halted';

const logId = (dev: DeploymentDeviceRow) => `log-${dev.deploymentId}-${dev.deviceId}`.replace(/[^A-Za-z0-9_-]/g, '_');

interface DeviceRowProps {
  device: DeploymentDeviceRow;
  now: number;
  phased: boolean;
  logOpen: boolean;
  onToggleLog: () => void;
  /** undefined: no selection column (the deployment is over) */
  selected: boolean | undefined;
  onToggleSelected: () => void;
}

function DeviceRow({ device: dev, now, phased, logOpen, onToggleLog, selected, onToggleSelected }: DeviceRowProps) {
  const bytes = dev.bytesTotal > 0 ? `${formatSize(dev.bytesDone)} of ${formatSize(dev.bytesTotal)}` : '';
  const progress = deviceProgress(dev);
  const text = `${statusText(dev.status)}${bytes ? `, ${bytes}` : ''}`;
  return (
    <tr data-testid="deployment-device" data-device-id={dev.deviceId} data-status={dev.status}>
      <td>
        <a href={deviceHref(dev.deviceId)}>{dev.deviceId}</a>
      </td>
      <td>
        <StatusBadge status={dev.status} />
      </td>
      <td className="progress-cell">
        <ProgressBar value={progress} label={`Progress of ${dev.deviceId}`} text={text} tone={statusTone(dev.status)} />
        {dev.status === 'downloading' && bytes && <span className="muted">{bytes}</span>}
      </td>
      <td className="reason">{dev.reason}</td>
      <td>{dev.updatedMs ? relativeTime(dev.updatedMs, now) : '—'}</td>
      {phased && <td>{dev.phase || '—'}</td>}
      <td>
        <button type="button" aria-expanded={logOpen} aria-controls={logOpen ? logId(dev) : undefined} onClick={onToggleLog} aria-label={`Log of ${dev.deviceId}`}>
          {logOpen ? 'Hide log' : 'Log'}
        </button>
      </td>
      {selected !== undefined && (
        <td>
          <input type="checkbox" aria-label={`Select ${dev.deviceId}`} checked={selected} disabled={isFinalStatus(dev.status)} onChange={onToggleSelected} />
        </td>
      )}
    </tr>
  );
}
