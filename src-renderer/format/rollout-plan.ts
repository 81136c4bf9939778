import type { MaintenanceWindow, PauseStage, PhaseSpec, RolloutOptions } from '../../src-main/common/console-api';

// What the deployment wizard edits (strings, as typed) and how it becomes
// the hub's RolloutOptions. Pure, so it is unit-tested without a browser.
// The cron expression is judged by the hub (and the next window shown by
// the services, with the hub's parser).

export interface PhaseRow {
  size: string;
  unit: 'percent' | 'count';
  /** auto: when the previous phase succeeded (phase 1: at once); manual: on Continue; time: at `at` */
  start: 'auto' | 'manual' | 'time';
  /** local date and time as a datetime-local input gives it ("2026-11-28T02:00"), for start = time */
  at?: string;
  /** failures in this phase that halt the deployment, as typed; '' or absent = no threshold of its own */
  maxFailures?: string;
  maxFailuresUnit?: 'percent' | 'count';
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
    const phase: Partial<PhaseSpec> = { [p.unit]: n, manual: p.start === 'manual' && i > 0 };
    if (p.start === 'time') {
      const at = parseLocalTime(p.at ?? '');
      if (at === undefined) return { error: `Phase ${i + 1}: give the date and time it starts.` };
      phase.startMs = at;
    }
    if (p.maxFailures?.trim()) {
      const unit = p.maxFailuresUnit ?? 'percent';
      const f = Number(p.maxFailures);
      if (!Number.isInteger(f) || f < 0 || (unit === 'percent' && f > 100)) return { error: `Phase ${i + 1}: the failure threshold must be a whole number (a percent from 0 to 100).` };
      phase.maxFailures = { count: 0, percent: 0, [unit]: f };
    }
    phases.push(phase);
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

/** "10% of the devices, starts when phase 1 succeeded, halts above 2 failures" */
export function describePhase(p: Pick<PhaseSpec, 'percent' | 'count' | 'manual' | 'startMs'> & { maxFailures?: Partial<PhaseSpec['maxFailures']> }, index: number, last: boolean): string {
  const size = last && index > 0 ? 'the remaining devices' : p.percent ? `${p.percent}% of the devices` : `${p.count} device${p.count === 1 ? '' : 's'}`;
  const start = p.startMs ? `starts at ${new Date(p.startMs).toLocaleString()}` : index === 0 ? 'starts at once' : p.manual ? 'starts on Continue' : `starts when phase ${index} succeeded`;
  const f = p.maxFailures;
  const halt = f?.percent ? `, halts above ${f.percent}% failed` : f?.count ? `, halts above ${f.count} failed` : '';
  return `${size}, ${start}${halt}`;
}

/** A datetime-local value ("2026-11-28T02:00") as epoch ms in this computer's time zone. */
export function parseLocalTime(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute] = m.slice(1).map(Number);
  const ms = new Date(year, month - 1, day, hour, minute).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** epoch ms as a datetime-local value in this computer's time zone. */
export function toLocalTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

export function describeWindow(w: MaintenanceWindow): string {
  const hours = w.durationMs / 3600_000;
  return `“${w.cron}” (${w.timeZone || 'UTC'}), ${hours >= 1 ? `${+hours.toFixed(2)} h` : `${Math.round(w.durationMs / 60_000)} min`} long`;
}
