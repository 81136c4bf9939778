import type { DeploymentHistoryEntry, FailureThreshold, MaintenanceWindow, PhaseSpec, PhaseState, RolloutState } from '../proto/gen/fleet/v1/console';
import { FINAL_STATUSES } from './deployment-view';
import { relativeTime } from './format';

// How a deployment's rollout is shown: a bar per phase with per-stage counts,
// the pause points, the maintenance window, thresholds, and the history.

/** Per-stage counts of a phase: how far its devices got. */
export interface StageCounts {
  /** past the download (or done with it) */
  downloaded: number;
  /** waiting at a pause point */
  paused: number;
  /** past the install */
  installed: number;
  /** success (committed after the reboot) */
  committed: number;
  /** failure or rolled-back */
  failed: number;
}

const AFTER_DOWNLOAD = ['paused-before-install', 'installing', 'paused-before-reboot', 'rebooting', 'verifying', 'paused-before-commit', 'committing', 'success'];
const AFTER_INSTALL = ['paused-before-reboot', 'rebooting', 'verifying', 'paused-before-commit', 'committing', 'success'];

export function stageCounts(counts: Readonly<Record<string, number>>): StageCounts {
  const sum = (statuses: readonly string[]) => statuses.reduce((n, s) => n + (counts[s] ?? 0), 0);
  return {
    downloaded: sum(AFTER_DOWNLOAD),
    paused: sum(['paused-before-install', 'paused-before-reboot', 'paused-before-commit']),
    installed: sum(AFTER_INSTALL),
    committed: sum(['success']),
    failed: sum(['failure', 'rolled-back']),
  };
}

export function stageText(s: StageCounts): string {
  return `downloaded ${s.downloaded}  paused ${s.paused}  installed ${s.installed}  committed ${s.committed}  failed ${s.failed}`;
}

/** "10%", "25 devices", "the rest" (the last phase takes every remaining device). */
export function sizeText(spec: PhaseSpec | undefined, last: boolean, only = false): string {
  if (only) return 'every device';
  if (last) return 'the rest';
  if (!spec) return '?';
  return spec.count ? `${spec.count} ${spec.count === 1 ? 'device' : 'devices'}` : `${spec.percent}%`;
}

/** How a phase starts: "at creation", "by hand", "at <time>", "after phase N reaches 90%". */
export function startText(spec: PhaseSpec | undefined, number: number): string {
  if (spec?.manual) return `by hand (fleetctl deployments continue ID --phase ${number})`;
  if (spec?.startMs) return `at ${new Date(spec.startMs).toISOString()}`;
  if (number === 1) return 'at creation';
  return `when phase ${number - 1} reaches ${spec?.successPercent || 100}% success`;
}

/** One line per phase: "phase 1  10%  started  [███░░] 2/5 done  downloaded 5  paused 3 ...". */
export function phaseLines(rollout: RolloutState, barWidth: number, bar: (fraction: number, width: number) => string): string[] {
  const n = rollout.phases.length;
  const labels = rollout.phases.map((p, i) => `phase ${p.number}  ${sizeText(p.spec, i === n - 1, n === 1)}`);
  const width = Math.max(0, ...labels.map((l) => l.length));
  return rollout.phases.map((p, i) => {
    const done = phaseDone(p);
    const status = p.status === 'started' ? 'started' : 'waiting';
    return `${labels[i].padEnd(width)}  ${status.padEnd(7)}  ${bar(p.total ? done / p.total : p.status === 'started' ? 1 : 0, barWidth)} ${done}/${p.total} done  ${stageText(stageCounts(p.counts))}`;
  });
}

function phaseDone(p: PhaseState): number {
  return Object.entries(p.counts).reduce((n, [s, c]) => n + (FINAL_STATUSES.has(s) ? c : 0), 0);
}

export function thresholdText(t: FailureThreshold | undefined): string {
  if (!t || (!t.count && !t.percent)) return 'none';
  return [t.percent && `more than ${t.percent}%`, t.count && `more than ${t.count}`].filter(Boolean).join(' or ') + ' failed';
}

export function windowText(w: MaintenanceWindow | undefined): string {
  if (!w) return 'none';
  return `"${w.cron}" for ${durationText(w.durationMs)} (${w.timeZone || 'UTC'})`;
}

/** 7200000 -> "2h", 5400000 -> "1h30m". */
export function durationText(ms: number): string {
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  let rest = ms;
  let out = '';
  for (const [u, size] of units) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${u}`;
      rest %= size;
    }
  }
  return out || '0s';
}

/** "open until <time>" / "next opens <time> (in 3h)" / "" without a window. */
export function windowStateText(r: RolloutState, now: number): string {
  if (!r.options?.window) return '';
  if (r.windowOpen) return `open until ${iso(r.windowEndsMs)}`;
  return r.nextWindowMs ? `closed; next opens ${iso(r.nextWindowMs)} (${untilText(r.nextWindowMs, now)})` : 'closed; no next window';
}

/** The rollout's settings and state as key/value facts for `deployments show`. */
export function rolloutFacts(r: RolloutState, now: number): Record<string, string> {
  const o = r.options;
  const facts: Record<string, string> = {};
  if (!o) return facts;
  facts['pause before'] = o.pauseBefore.length ? o.pauseBefore.join(', ') : 'none';
  facts.window = windowText(o.window);
  if (o.window) facts['window now'] = windowStateText(r, now);
  facts['max failures'] = thresholdText(o.maxFailures);
  facts.retries = String(o.retries);
  if (o.dynamicGroup) facts['dynamic group'] = `${o.dynamicGroup}${o.maxDevices ? ` (at most ${o.maxDevices} devices)` : ''}`;
  return facts;
}

/** Per phase: size, how it starts, its threshold. */
export function phasePlanLines(r: RolloutState): string[] {
  return r.phases.map((p, i) => {
    const failures = thresholdText(p.spec?.maxFailures);
    return `phase ${p.number}: ${sizeText(p.spec, i === r.phases.length - 1, r.phases.length === 1)}, starts ${startText(p.spec, p.number)}${failures === 'none' ? '' : `, halts when ${failures}`}${p.startedMs ? `; started ${iso(p.startedMs)}` : ''}`;
  });
}

/** "2026-11-27T09:00:00.000Z  admin  continued  stage=install phases=1". */
export function historyLines(entries: readonly DeploymentHistoryEntry[], now: number): string[] {
  return entries.map((e) => {
    const details = Object.entries(e.details)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return `${iso(e.atMs)} (${relativeTime(e.atMs, now)})  ${e.actor}  ${e.action}${details ? `  ${details}` : ''}`;
  });
}

function iso(ms: number): string {
  return ms ? new Date(ms).toISOString() : '-';
}

function untilText(ms: number, now: number): string {
  const s = Math.max(0, Math.round((ms - now) / 1000));
  if (s < 60) return `in ${s}s`;
  if (s < 3600) return `in ${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `in ${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `in ${Math.floor(s / 86400)}d`;
}
