import { PAUSE_STAGES, type FailureThreshold, type MaintenanceWindow, type PauseStage, type PhaseSpec, type RolloutOptions } from '../../common/console-api';
import type { RolloutOptions as ProtoRolloutOptions } from '../../../proto/gen/fleet/v1/console';

// The renderer's RolloutOptions -> the hub's. Checks what the console can
// say clearly before the hub does (shapes, ranges); what needs the hub's
// knowledge (cron syntax, time zones, group names) is left to its answer.

const MAX_PHASES = 100;

export function toRolloutRequest(opts: RolloutOptions | undefined): ProtoRolloutOptions | undefined {
  if (opts === undefined) return undefined;
  if (!opts || typeof opts !== 'object') throw new Error('rollout options must be an object');
  const phases = opts.phases ?? [];
  if (!Array.isArray(phases)) throw new Error('phases must be a list');
  if (phases.length > MAX_PHASES) throw new Error(`too many phases (${phases.length}); at most ${MAX_PHASES}`);
  return {
    phases: phases.map((p, i) => checkPhase(p, i + 1)),
    pauseBefore: checkStages(opts.pauseBefore ?? []),
    window: opts.window === undefined ? undefined : checkWindow(opts.window),
    maxFailures: checkThreshold(opts.maxFailures, 'the deployment'),
    retries: whole(opts.retries ?? 0, 'retries', 0, 100),
    dynamicGroup: typeof opts.dynamicGroup === 'string' ? opts.dynamicGroup.trim() : '',
    maxDevices: whole(opts.maxDevices ?? 0, 'the device cap', 0, 10_000_000),
  };
}

function checkPhase(p: Partial<PhaseSpec>, n: number): PhaseSpec {
  if (!p || typeof p !== 'object') throw new Error(`phase ${n} must be an object`);
  const percent = whole(p.percent ?? 0, `phase ${n}'s percent`, 0, 100);
  const count = whole(p.count ?? 0, `phase ${n}'s device count`, 0, 10_000_000);
  if ((percent > 0) === (count > 0)) throw new Error(`phase ${n} needs a size: a percent (1-100) or a device count, not both`);
  return {
    percent,
    count,
    startMs: whole(p.startMs ?? 0, `phase ${n}'s start time`, 0, Number.MAX_SAFE_INTEGER),
    manual: p.manual === true,
    successPercent: whole(p.successPercent ?? 0, `phase ${n}'s success threshold`, 0, 100),
    maxFailures: checkThreshold(p.maxFailures, `phase ${n}`),
  };
}

function checkStages(stages: PauseStage[]): PauseStage[] {
  if (!Array.isArray(stages)) throw new Error('pauses must be a list of stages');
  for (const s of stages) if (!PAUSE_STAGES.includes(s)) throw new Error(`unknown pause stage "${String(s)}": use ${PAUSE_STAGES.join(', ')}`);
  return PAUSE_STAGES.filter((s) => stages.includes(s));
}

function checkWindow(w: MaintenanceWindow): MaintenanceWindow {
  if (!w || typeof w !== 'object' || typeof w.cron !== 'string' || !w.cron.trim()) throw new Error('the maintenance window needs a cron expression');
  return {
    cron: w.cron.trim().replace(/\s+/g, ' '),
    durationMs: whole(w.durationMs, "the window's length", 60_000, 7 * 24 * 3600_000),
    timeZone: typeof w.timeZone === 'string' ? w.timeZone.trim() : '',
  };
}

function checkThreshold(t: Partial<FailureThreshold> | undefined, what: string): FailureThreshold {
  return { count: whole(t?.count ?? 0, `${what}'s failure count`, 0, 10_000_000), percent: whole(t?.percent ?? 0, `${what}'s failure percent`, 0, 100) };
}

function whole(n: unknown, what: string, min: number, max: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new Error(`${what} must be a whole number from ${min} to ${max}`);
  return n;
}
