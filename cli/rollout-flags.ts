import type { FailureThreshold, MaintenanceWindow, PhaseSpec, RolloutOptions } from '../proto/gen/fleet/v1/console';
import type { ParsedArgs } from './args';
import { UsageError } from './cli-error';

// The rollout flags of `deployments create` as the hub's RolloutOptions.
//
// Operators write phases as cumulative targets, as in Mender and hawkBit:
// `--phase 10% --phase 50% --phase 100%` means 10% first, then up to 50%, then
// everyone. The hub sizes each phase on its own (docs/rollouts.md: "10%, 50%,
// rest" is 20, 100 and 80 of 200), so the CLI sends the differences: 10%, 40%
// and the rest.

export const ROLLOUT_FLAGS = ['phase', 'phase-start', 'phase-success', 'phase-max-failures', 'pause-before', 'window', 'window-length', 'tz', 'max-failures', 'retries', 'max-devices', 'dynamic-group'] as const;

const STAGES = ['install', 'reboot', 'commit'];
/** The longest window the hub accepts (docs/rollouts.md). */
const MAX_WINDOW_MS = 7 * 86_400_000;

/** Undefined when no rollout flag was given: the hub's plain one-phase deployment. */
export function rolloutOptions(args: ParsedArgs): RolloutOptions | undefined {
  if (!ROLLOUT_FLAGS.some((f) => args.strings.has(f) || args.lists.has(f))) return undefined;
  const dynamicGroup = args.strings.get('dynamic-group') ?? '';
  const maxDevicesText = args.strings.get('max-devices');
  if (maxDevicesText !== undefined && !dynamicGroup) throw new UsageError('--max-devices caps a deployment to a dynamic group: give --dynamic-group too');
  return {
    phases: phaseSpecs(args),
    pauseBefore: pauseStages(args.lists.get('pause-before') ?? []),
    window: windowFlags(args),
    maxFailures: optionalThreshold('max-failures', args.strings.get('max-failures')),
    retries: wholeNumber('retries', args.strings.get('retries') ?? '0'),
    dynamicGroup,
    maxDevices: maxDevicesText === undefined ? 0 : wholeNumber('max-devices', maxDevicesText),
  };
}

type Size = { percent: number } | { count: number };

/** "10%" or "25" (a count); "all" is 100%. */
export function parseSize(text: string): Size {
  const t = text.trim();
  if (t === 'all') return { percent: 100 };
  const percent = /^(\d+)%$/.exec(t);
  if (percent) {
    const n = Number(percent[1]);
    if (n < 1 || n > 100) throw new UsageError(`--phase ${t}: a percent must be between 1% and 100%`);
    return { percent: n };
  }
  if (/^\d+$/.test(t) && Number(t) >= 1) return { count: Number(t) };
  throw new UsageError(`--phase must be a percent (10%), a device count (25) or "all", got "${text}"`);
}

/** Cumulative sizes (10%, 50%, 100%) as the hub's own size per phase (10%, 40%, rest). */
export function phaseSizes(texts: readonly string[]): Size[] {
  if (!texts.length) return [];
  const sizes = texts.map(parseSize);
  const last = sizes[sizes.length - 1];
  if (!('percent' in last) || last.percent !== 100) {
    throw new UsageError(`the last --phase must be 100% (or "all"): it always takes every remaining device; got "${texts[texts.length - 1]}"`);
  }
  const earlier = sizes.slice(0, -1);
  const percents = earlier.every((s) => 'percent' in s);
  const counts = earlier.every((s) => 'count' in s);
  if (!percents && !counts) throw new UsageError('phases before the last must all be percents or all be counts: cumulative targets cannot mix them');
  const values = earlier.map((s) => ('percent' in s ? s.percent : s.count));
  for (let i = 0; i < values.length; i++) {
    const before = i ? values[i - 1] : 0;
    if (values[i] <= before) throw new UsageError(`--phase targets are cumulative and must grow: phase ${i + 1} (${texts[i]}) is not more than phase ${i} (${texts[i - 1]})`);
    if (percents && values[i] >= 100) throw new UsageError(`--phase ${texts[i]}: only the last phase may reach 100%`);
  }
  const own: Size[] = values.map((v, i) => (percents ? { percent: v - (values[i - 1] ?? 0) } : { count: v - (values[i - 1] ?? 0) }));
  // The hub gives the last phase every remaining device whatever its size.
  return [...own, { percent: 100 }];
}

function phaseSpecs(args: ParsedArgs): PhaseSpec[] {
  const texts = args.lists.get('phase') ?? [];
  const sizes = phaseSizes(texts);
  const perPhase = (flag: string) => {
    const values = args.lists.get(flag);
    if (!values) return undefined;
    if (values.length !== texts.length) throw new UsageError(`--${flag} is given once per --phase, in order: ${texts.length} ${texts.length === 1 ? 'phase' : 'phases'} but ${values.length} --${flag}`);
    return values;
  };
  const starts = perPhase('phase-start');
  const successes = perPhase('phase-success');
  const failures = perPhase('phase-max-failures');
  return sizes.map((size, i) => ({
    percent: 'percent' in size ? size.percent : 0,
    count: 'count' in size ? size.count : 0,
    ...phaseStart(starts?.[i] ?? 'auto'),
    successPercent: successes ? successPercent(successes[i]) : 0,
    maxFailures: failures ? optionalThreshold('phase-max-failures', failures[i]) : undefined,
  }));
}

/** auto (at creation for phase 1, else when the phase before succeeded), manual, or an ISO time. */
export function phaseStart(text: string): { startMs: number; manual: boolean } {
  if (text === 'auto') return { startMs: 0, manual: false };
  if (text === 'manual') return { startMs: 0, manual: true };
  const ms = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--phase-start must be auto, manual or an ISO time (2026-12-01T02:00:00Z), got "${text}"`);
  return { startMs: ms, manual: false };
}

function successPercent(text: string): number {
  if (text === 'auto' || text === '-') return 0;
  const m = /^(\d+)%$/.exec(text);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 100) throw new UsageError(`--phase-success must be a percent between 1% and 100% (or "-" for the default 100%), got "${text}"`);
  return Number(m[1]);
}

/** "5%" or a count "3"; "none" or "-": no threshold. */
export function parseThreshold(flag: string, text: string): FailureThreshold {
  const t = text.trim();
  if (t === 'none' || t === '-') return { count: 0, percent: 0 };
  const percent = /^(\d+)%$/.exec(t);
  if (percent && Number(percent[1]) <= 100) return { count: 0, percent: Number(percent[1]) };
  if (/^\d+$/.test(t)) return { count: Number(t), percent: 0 };
  throw new UsageError(`--${flag} must be a percent (5%) or a count of failed devices (3), got "${text}"`);
}

function optionalThreshold(flag: string, text: string | undefined): FailureThreshold | undefined {
  return text === undefined ? undefined : parseThreshold(flag, text);
}

function pauseStages(values: readonly string[]): string[] {
  const stages = values.flatMap((v) => v.split(',')).map((s) => s.trim());
  for (const s of stages) if (!STAGES.includes(s)) throw new UsageError(`--pause-before must be install, reboot or commit, got "${s}"`);
  return STAGES.filter((s) => stages.includes(s));
}

/** --window CRON --window-length DURATION [--tz ZONE] as a MaintenanceWindow; undefined without --window. */
export function windowFlags(args: ParsedArgs): MaintenanceWindow | undefined {
  const cron = args.strings.get('window');
  const length = args.strings.get('window-length');
  const tz = args.strings.get('tz');
  if (cron === undefined) {
    if (length !== undefined || tz !== undefined) throw new UsageError('--window-length and --tz describe a --window: give --window "CRON" too');
    return undefined;
  }
  if (length === undefined) throw new UsageError('--window needs --window-length (e.g. 2h)');
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) throw new UsageError(`--window must be a cron expression of 5 fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"; got "${cron}"`);
  const durationMs = parseDuration('window-length', length);
  if (durationMs < 60_000 || durationMs > MAX_WINDOW_MS) throw new UsageError(`--window-length must be between 1m and 7d, got "${length}"`);
  if (tz) checkTimeZone(tz);
  return { cron: fields.join(' '), durationMs, timeZone: tz ?? '' };
}

/** "90m", "2h", "1h30m", "1d", "45s" as milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const parts = [...text.trim().matchAll(/(\d+)([smhd])/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text.trim()) throw new UsageError(`--${flag} must be a duration like 90m, 2h or 1h30m, got "${text}"`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]], 0);
}

function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new UsageError(`--tz must be an IANA time zone such as Europe/Oslo or UTC, got "${tz}"`);
  }
}

function wholeNumber(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--${flag} must be a whole number (0 or more), got "${text}"`);
  return Number(text.trim());
}
