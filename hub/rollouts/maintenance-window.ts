import { nextCronTime, parseCron, type CronSchedule } from './cron';

export interface WindowConfig {
  cron: string;
  durationMs: number;
  /** IANA name; '' means UTC. */
  timeZone: string;
}

export interface WindowState {
  open: boolean;
  /** End of the current window; 0 when closed. */
  endsMs: number;
  /** Start of the next window after now (0 if none within 8 years). */
  nextMs: number;
}

const MAX_DURATION_MS = 7 * 86_400_000;
/** Back-to-back or overlapping windows merged into one open span, at most this many. */
const MAX_MERGED = 1000;

// A recurring maintenance window: opens at every start of its cron schedule
// and stays open `durationMs`. Parsed schedules are cached by their text.
export class MaintenanceWindow {
  private readonly schedule: CronSchedule;
  /** The last answer holds from `from` until the window opens or closes. */
  private memo: { from: number; until: number; state: WindowState } | undefined;

  constructor(readonly config: WindowConfig) {
    if (!(config.durationMs >= 60_000 && config.durationMs <= MAX_DURATION_MS)) {
      throw new Error(`maintenance window duration must be between 1 minute and 7 days, got ${config.durationMs} ms`);
    }
    this.schedule = parseCron(config.cron, config.timeZone);
  }

  state(nowMs: number): WindowState {
    const m = this.memo;
    if (m && nowMs >= m.from && nowMs < m.until) return m.state;
    const state = this.compute(nowMs);
    this.memo = { from: nowMs, until: state.open ? state.endsMs : state.nextMs || Infinity, state };
    return state;
  }

  private compute(nowMs: number): WindowState {
    // The first start after (now - duration) is the current window's if it
    // started by now, else the next one.
    const start = nextCronTime(this.schedule, nowMs - this.config.durationMs);
    if (start === undefined) return { open: false, endsMs: 0, nextMs: 0 };
    if (start > nowMs) return { open: false, endsMs: 0, nextMs: start };
    let endsMs = start + this.config.durationMs;
    let next = nextCronTime(this.schedule, nowMs);
    for (let i = 0; next !== undefined && next <= endsMs && i < MAX_MERGED; i++) {
      endsMs = Math.max(endsMs, next + this.config.durationMs);
      next = nextCronTime(this.schedule, next);
    }
    return { open: true, endsMs, nextMs: next ?? 0 };
  }
}

const cache = new Map<string, MaintenanceWindow>();

/** The window of a config, parsed once. Throws for a bad config (message for the operator). */
export function maintenanceWindow(config: WindowConfig): MaintenanceWindow {
  const key = `${config.cron}\n${config.durationMs}\n${config.timeZone}`;
  let w = cache.get(key);
  if (!w) {
    w = new MaintenanceWindow(config);
    if (cache.size > 500) cache.clear();
    cache.set(key, w);
  }
  return w;
}
