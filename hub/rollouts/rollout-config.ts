import { status } from '@grpc/grpc-js';
import type { FailureThreshold, RolloutOptions } from '../../proto/gen/fleet/v1/console';
import { RpcError } from '../rpc-error';
import type { QueryCondition } from './device-query';
import { isStage, STAGES, type Stage } from './stages';
import { maintenanceWindow, type WindowConfig } from './maintenance-window';

// How a deployment rolls out, as the hub stores it (JSON in
// deployments.rollout): the operator's RolloutOptions, checked and with
// defaults filled in. A deployment created without options has one phase
// that starts at once and nothing else.

export interface FailureLimit {
  /** Halt when failures exceed this many (0: no count limit). */
  count: number;
  /** Halt when failures exceed this percent of the devices concerned (0: no percent limit). */
  percent: number;
}

export interface PhaseConfig {
  percent: number;
  count: number;
  /** Epoch ms; 0 = not at a time. */
  startMs: number;
  manual: boolean;
  /** 1-100. */
  successPercent: number;
  maxFailures: FailureLimit;
}

export interface RolloutConfig {
  phases: PhaseConfig[];
  /** In stage order. */
  pauseBefore: Stage[];
  window?: WindowConfig;
  maxFailures: FailureLimit;
  retries: number;
  dynamicGroup: string;
  /** The dynamic group's query as it was when the deployment was created. */
  dynamicQuery?: QueryCondition[];
  maxDevices: number;
}

export const MAX_PHASES = 100;
export const MAX_RETRIES = 100;
const NO_LIMIT: FailureLimit = { count: 0, percent: 0 };

export function defaultRollout(): RolloutConfig {
  return { phases: [wholePhase()], pauseBefore: [], maxFailures: NO_LIMIT, retries: 0, dynamicGroup: '', maxDevices: 0 };
}

function wholePhase(): PhaseConfig {
  return { percent: 100, count: 0, startMs: 0, manual: false, successPercent: 100, maxFailures: NO_LIMIT };
}

/** Checks RolloutOptions; throws INVALID_ARGUMENT with what to change. */
export function rolloutFromOptions(options: RolloutOptions | undefined): RolloutConfig {
  if (!options) return defaultRollout();
  const bad = (message: string) => new RpcError(status.INVALID_ARGUMENT, message);
  if (options.phases.length > MAX_PHASES) throw bad(`${options.phases.length} phases; at most ${MAX_PHASES}`);
  const phases = options.phases.map((p, i): PhaseConfig => {
    const n = i + 1;
    const last = i === options.phases.length - 1;
    if (p.percent && p.count) throw bad(`phase ${n}: give its size as a percent or as a count, not both`);
    if (!last && !p.percent && !p.count) throw bad(`phase ${n}: give its size (percent 1-100 or a count); only the last phase may leave it out`);
    if (p.percent < 0 || p.percent > 100) throw bad(`phase ${n}: percent must be between 1 and 100, got ${p.percent}`);
    if (p.count < 0) throw bad(`phase ${n}: count must be positive, got ${p.count}`);
    if (p.startMs < 0) throw bad(`phase ${n}: start time must be epoch milliseconds, got ${p.startMs}`);
    if (p.manual && p.startMs) throw bad(`phase ${n}: it starts either by hand or at a time, not both`);
    if (p.successPercent < 0 || p.successPercent > 100) throw bad(`phase ${n}: success percent must be between 1 and 100 (0 means 100), got ${p.successPercent}`);
    return {
      percent: p.percent,
      count: p.count,
      startMs: p.startMs,
      manual: p.manual,
      successPercent: p.successPercent || 100,
      maxFailures: failureLimit(p.maxFailures, `phase ${n}`),
    };
  });
  const pauses = new Set<Stage>();
  for (const stage of options.pauseBefore) {
    if (!isStage(stage)) throw bad(`pause point "${stage}" is not known: use install, reboot or commit`);
    pauses.add(stage);
  }
  let window: WindowConfig | undefined;
  if (options.window) {
    window = { cron: options.window.cron.trim(), durationMs: options.window.durationMs, timeZone: options.window.timeZone.trim() };
    try {
      maintenanceWindow(window);
    } catch (err) {
      throw bad(`maintenance window: ${(err as Error).message}`);
    }
  }
  if (options.retries < 0 || options.retries > MAX_RETRIES) throw bad(`retries must be between 0 and ${MAX_RETRIES}, got ${options.retries}`);
  if (options.maxDevices < 0) throw bad(`max_devices must be 0 (no cap) or positive, got ${options.maxDevices}`);
  if (options.maxDevices && !options.dynamicGroup) throw bad('max_devices applies to a deployment to a dynamic group: give dynamic_group too');
  return {
    phases: phases.length ? phases : [wholePhase()],
    pauseBefore: STAGES.filter((s) => pauses.has(s)),
    window,
    maxFailures: failureLimit(options.maxFailures, 'the deployment'),
    retries: options.retries,
    dynamicGroup: options.dynamicGroup.trim(),
    maxDevices: options.maxDevices,
  };
}

function failureLimit(t: FailureThreshold | undefined, what: string): FailureLimit {
  if (!t) return NO_LIMIT;
  if (t.count < 0) throw new RpcError(status.INVALID_ARGUMENT, `${what}: failure count threshold must be 0 (none) or positive, got ${t.count}`);
  if (t.percent < 0 || t.percent > 100) throw new RpcError(status.INVALID_ARGUMENT, `${what}: failure percent threshold must be between 0 (none) and 100, got ${t.percent}`);
  return { count: t.count, percent: t.percent };
}

/** Whether `failures` out of `devices` exceed the limit. */
export function exceeds(limit: FailureLimit, failures: number, devices: number): boolean {
  if (limit.count > 0 && failures > limit.count) return true;
  return limit.percent > 0 && failures * 100 > limit.percent * devices;
}

export function describeLimit(limit: FailureLimit): string {
  const parts: string[] = [];
  if (limit.count > 0) parts.push(`${limit.count} device${limit.count === 1 ? '' : 's'}`);
  if (limit.percent > 0) parts.push(`${limit.percent}%`);
  return parts.join(' or ');
}

/** The stages a device must stop before: the operator's pauses, and install and reboot when a window applies. */
export function pauseStages(config: RolloutConfig): Set<Stage> {
  const out = new Set<Stage>(config.pauseBefore);
  if (config.window) {
    out.add('install');
    out.add('reboot');
  }
  return out;
}
