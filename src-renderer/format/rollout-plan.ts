import type { MaintenanceWindow, PauseStage, PhaseSpec, RolloutOptions } from '../../src-main/common/console-api';

// What the deployment wizard edits (strings, as typed) and how it becomes
// the hub's RolloutOptions. Pure, so it is unit-tested without a browser.
// The cron expression is judged by the hub (and the next window shown by
// the services, with the hub's parser).

export interface PhaseRow {
  size: string;
  unit: 'percent' | 'count';
  /** auto: when the previous phase succeeded; manual: on Continue */
  start: 'auto' | 'manual';
}

export interface WindowRow {
  enabled: boolean;
  cron: string;
  /** hours, as typed */
  hours: string;
  timeZone: string;
}

export interface PlanRows {
  phases: PhaseRow[];
  pauseBefore: PauseStage[];
  window: WindowRow;
  /** failures that halt the deployment, as typed; '' = no threshold */
  maxFailures: string;
  maxFailuresUnit: 'percent' | 'count';
  retries: string;
}

export const defaultPlan = (): PlanRows => ({
  phases: [{ size: '100', unit: 'percent', start: 'auto' }],
  pauseBefore: [],
  window: { enabled: false, cron: '0 2 * * *', hours: '2', timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || '' },
  maxFailures: '',
  maxFailuresUnit: 'percent',
  retries: '0',
});

/** The plan as the hub takes it, or the first thing that is wrong with it. */
export function toRolloutOptions(plan: PlanRows): { options: RolloutOptions } | { error: string } {
  const phases: Partial<PhaseSpec>[] = [];
  for (const [i, p] of plan.phases.entries()) {
    const n = Number(p.size);
    const max = p.unit === 'percent' ? 100 : 10_000_000;
    if (!Number.isInteger(n) || n < 1 || n > max) return { error: `Phase ${i + 1}: the size must be a whole number from 1 to ${max}${p.unit === 'percent' ? ' (%)' : ''}.` };
    phases.push({ [p.unit]: n, manual: i > 0 && p.start === 'manual' });
  }
  const options: RolloutOptions = { phases, pauseBefore: plan.pauseBefore };
  if (plan.window.enabled) {
    const w = toWindow(plan.window);
    if ('error' in w) return w;
    options.window = w.window;
  }
  if (plan.maxFailures.trim()) {
    const n = Number(plan.maxFailures);
    if (!Number.isInteger(n) || n < 0 || (plan.maxFailuresUnit === 'percent' && n > 100)) return { error: 'The failure threshold must be a whole number (a percent from 0 to 100).' };
    options.maxFailures = { [plan.maxFailuresUnit]: n };
  }
  const retries = Number(plan.retries || '0');
  if (!Number.isInteger(retries) || retries < 0 || retries > 100) return { error: 'Retries must be a whole number from 0 to 100.' };
  options.retries = retries;
  return { options };
}

export function toWindow(w: WindowRow): { window: MaintenanceWindow } | { error: string } {
  const hours = Number(w.hours);
  if (!Number.isFinite(hours) || hours < 1 / 60 || hours > 7 * 24) return { error: 'The window length must be from 1 minute (0.0167 h) to 168 hours.' };
  if (w.cron.trim().split(/\s+/).length !== 5) return { error: 'The window opens at a cron expression of 5 fields: minute hour day month weekday.' };
  return { window: { cron: w.cron.trim(), durationMs: Math.round(hours * 3600_000), timeZone: w.timeZone.trim() } };
}

/** "10% of the devices, starts when phase 1 succeeded" */
export function describePhase(p: Pick<PhaseSpec, 'percent' | 'count' | 'manual' | 'startMs'>, index: number, last: boolean): string {
  const size = last && index > 0 ? 'the remaining devices' : p.percent ? `${p.percent}% of the devices` : `${p.count} device${p.count === 1 ? '' : 's'}`;
  const start = index === 0 ? 'starts at once' : p.startMs ? `starts at ${new Date(p.startMs).toLocaleString()}` : p.manual ? 'starts on Continue' : `starts when phase ${index} succeeded`;
  return `${size}, ${start}`;
}

export function describeWindow(w: MaintenanceWindow): string {
  const hours = w.durationMs / 3600_000;
  return `“${w.cron}” (${w.timeZone || 'UTC'}), ${hours >= 1 ? `${+hours.toFixed(2)} h` : `${Math.round(w.durationMs / 60_000)} min`} long`;
}
