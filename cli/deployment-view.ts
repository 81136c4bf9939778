import type { Deployment, DeploymentDetail, DeploymentDevice, RolloutState } from '../proto/gen/fleet/v1/console';
import { humanBytes, keyValueLines, progressBar, relativeTime, table, type Color } from './format';
import { historyLines, phaseLines, phasePlanLines, rolloutFacts } from './rollout-view';

// How deployments are shown to people: lists, one deployment with its
// devices, a device's history, and the counts line of `show --watch`.

/** Per-device statuses after which the device does nothing more for this deployment. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted']);
/** Final statuses that count as "the device runs this artifact". */
export const GOOD_STATUSES: ReadonlySet<string> = new Set(['success', 'already-installed']);
/** The order people read a deployment in: work still going, then outcomes. */
const STATUS_ORDER = ['pending', 'downloading', 'paused-before-install', 'installing', 'paused-before-reboot', 'rebooting', 'verifying', 'paused-before-commit', 'committing', 'success', 'already-installed', 'failure', 'rolled-back', 'incompatible', 'aborted'];

export function statusColor(status: string): Color | undefined {
  if (GOOD_STATUSES.has(status) || status === 'finished') return 'green';
  if (status === 'failure' || status === 'rolled-back' || status === 'incompatible') return 'red';
  if (status === 'aborted' || status === 'halted' || status.startsWith('paused-')) return 'yellow';
  return undefined;
}

/** "3 success, 1 failure, 2 pending" in reading order; "no devices" when empty. */
export function countsText(counts: Readonly<Record<string, number>>): string {
  const known = STATUS_ORDER.filter((s) => counts[s]);
  const other = Object.keys(counts).filter((s) => counts[s] && !STATUS_ORDER.includes(s)).sort();
  const parts = [...known, ...other].map((s) => `${counts[s]} ${s}`);
  return parts.length ? parts.join(', ') : 'no devices';
}

/** How many target devices reached a final status. */
export function doneCount(d: Deployment): number {
  return Object.entries(d.counts).reduce((n, [status, count]) => n + (FINAL_STATUSES.has(status) ? count : 0), 0);
}

export function deploymentTable(deployments: readonly Deployment[], useColor: boolean, now = Date.now()): string {
  const rows = deployments.map((d) => [d.id, d.name, `${d.artifactName} ${d.artifactVersion}`, d.status, `${doneCount(d)}/${d.total}`, countsText(d.counts), relativeTime(d.createdMs, now)]);
  return table(['ID', 'NAME', 'ARTIFACT', 'STATUS', 'DONE', 'DEVICES', 'CREATED'], rows, { useColor, color: (col, v) => (col === 3 ? statusColor(v) : undefined) });
}

/** "12.0/128 MiB" while bytes move; empty when the device reported no size. */
export function bytesText(dev: Pick<DeploymentDevice, 'bytesDone' | 'bytesTotal'>): string {
  if (dev.bytesTotal <= 0) return '';
  return `${Math.floor((dev.bytesDone / dev.bytesTotal) * 100)}% of ${humanBytes(dev.bytesTotal)}`;
}

export function deploymentDetails(detail: DeploymentDetail, useColor: boolean, now = Date.now()): string {
  const d = detail.deployment!;
  const when = (ms: number) => (ms ? `${new Date(ms).toISOString()} (${relativeTime(ms, now)})` : '-');
  const facts: Record<string, string> = {
    id: d.id,
    name: d.name,
    artifact: `${d.artifactName} ${d.artifactVersion} (${d.artifactId})`,
    status: d.status,
  };
  if (d.haltReason) facts['halt reason'] = `${d.haltReason} (fleetctl deployments resume ${d.id}, or abort ${d.id})`;
  Object.assign(facts, {
    created: `${when(d.createdMs)} by ${d.createdBy}`,
    finished: when(d.finishedMs),
    devices: `${d.total}: ${countsText(d.counts)}`,
    options: [d.allowDowngrade && 'allow-downgrade', d.force && 'force'].filter(Boolean).join(', ') || '-',
  });
  if (d.abortedBy) facts['aborted by'] = d.abortedBy;
  if (d.rollout) Object.assign(facts, rolloutFacts(d.rollout, now));
  const sections = [keyValueLines(facts, '')];
  if (d.rollout && rolloutShown(d.rollout)) {
    sections.push(['Phases:', ...phasePlanLines(d.rollout).map((l) => `  ${l}`), ...phaseLines(d.rollout, 20, progressBar).map((l) => `  ${l}`)].join('\n') + '\n');
  }
  if (detail.history?.entries.length) sections.push(['History:', ...historyLines(detail.history.entries, now).map((l) => `  ${l}`)].join('\n') + '\n');
  const withPhases = (d.rollout?.phases.length ?? 0) > 1;
  const devices = [...detail.devices].sort(byStatusThenId);
  const rows = devices.map((dev) => [dev.deviceId, ...(withPhases ? [String(dev.phase ?? '')] : []), dev.status, bytesText(dev), relativeTime(dev.updatedMs, now), dev.reason]);
  const header = ['DEVICE', ...(withPhases ? ['PHASE'] : []), 'STATUS', 'PROGRESS', 'UPDATED', 'REASON'];
  const statusColumn = withPhases ? 2 : 1;
  if (rows.length) sections.push(table(header, rows, { useColor, color: (col, v) => (col === statusColumn ? statusColor(v) : undefined) }));
  return sections.join('\n');
}

/** Phase bars are worth their lines with several phases, pause points or a window. */
export function rolloutShown(r: RolloutState): boolean {
  return r.phases.length > 1 || Boolean(r.options?.pauseBefore.length) || Boolean(r.options?.window);
}

export function historyTable(entries: readonly DeploymentDevice[], useColor: boolean, now = Date.now()): string {
  const rows = entries.map((e) => [e.deploymentId, `${e.artifactName} ${e.artifactVersion}`, e.status, relativeTime(e.startedMs, now), e.finishedMs ? relativeTime(e.finishedMs, now) : '-', e.reason]);
  return table(['DEPLOYMENT', 'ARTIFACT', 'STATUS', 'STARTED', 'FINISHED', 'REASON'], rows, { useColor, color: (col, v) => (col === 2 ? statusColor(v) : undefined) });
}

export function byStatusThenId(a: DeploymentDevice, b: DeploymentDevice): number {
  const rank = (s: string) => (STATUS_ORDER.includes(s) ? STATUS_ORDER.indexOf(s) : STATUS_ORDER.length);
  return rank(a.status) - rank(b.status) || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0);
}
