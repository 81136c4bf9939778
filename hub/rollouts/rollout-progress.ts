import type { DeploymentDeviceStatus } from '../store/store';
import { describeLimit, exceeds, type RolloutConfig } from './rollout-config';

/** Devices per status in each phase (1-based phase -> status -> count). */
export type PhaseCounts = Map<number, Partial<Record<DeploymentDeviceStatus, number>>>;

const FAILED: DeploymentDeviceStatus[] = ['failure', 'rolled-back'];
const SUCCEEDED: DeploymentDeviceStatus[] = ['success', 'already-installed'];

function sum(counts: Partial<Record<DeploymentDeviceStatus, number>> | undefined, statuses: DeploymentDeviceStatus[]): number {
  return statuses.reduce((n, s) => n + (counts?.[s] ?? 0), 0);
}

function size(counts: Partial<Record<DeploymentDeviceStatus, number>> | undefined): number {
  return Object.values(counts ?? {}).reduce((n, c) => n + (c ?? 0), 0);
}

/** Devices a threshold is about: incompatible ones were never candidates. */
function concerned(counts: Partial<Record<DeploymentDeviceStatus, number>> | undefined): number {
  return size(counts) - (counts?.incompatible ?? 0);
}

/** Why the deployment must halt (overall threshold first, then per phase), or undefined. */
export function haltReason(config: RolloutConfig, counts: PhaseCounts): string | undefined {
  const all: Partial<Record<DeploymentDeviceStatus, number>> = {};
  for (const phase of counts.values()) for (const [s, n] of Object.entries(phase)) all[s as DeploymentDeviceStatus] = (all[s as DeploymentDeviceStatus] ?? 0) + (n ?? 0);
  const failed = sum(all, FAILED);
  if (exceeds(config.maxFailures, failed, concerned(all))) {
    return `${failed} of ${concerned(all)} devices failed, more than the deployment's threshold of ${describeLimit(config.maxFailures)}`;
  }
  for (let i = 0; i < config.phases.length; i++) {
    const c = counts.get(i + 1);
    const f = sum(c, FAILED);
    if (exceeds(config.phases[i].maxFailures, f, concerned(c))) {
      return `${f} of ${concerned(c)} devices of phase ${i + 1} failed, more than its threshold of ${describeLimit(config.phases[i].maxFailures)}`;
    }
  }
  return undefined;
}

/** Whether a phase reached its success threshold (an empty phase has). */
export function phaseSucceeded(config: RolloutConfig, phase: number, counts: PhaseCounts): boolean {
  const c = counts.get(phase);
  const n = concerned(c);
  return n === 0 || sum(c, SUCCEEDED) * 100 >= config.phases[phase - 1].successPercent * n;
}

/**
 * Phases to start now because the phase before reached its success
 * threshold, in order (a chain when several succeed at once). Only phases
 * that start automatically (neither by hand nor at a time).
 */
export function phasesToAdvance(config: RolloutConfig, startedMs: readonly number[], counts: PhaseCounts): number[] {
  const out: number[] = [];
  const started = [...startedMs];
  for (let i = 1; i < config.phases.length; i++) {
    const spec = config.phases[i];
    if (started[i] || !started[i - 1] || spec.manual || spec.startMs) continue;
    if (!phaseSucceeded(config, i, counts)) continue;
    started[i] = 1;
    out.push(i + 1);
  }
  return out;
}

/** Whether any failure threshold is set (deployment-wide or for a phase). */
export function hasFailureLimit(config: RolloutConfig): boolean {
  const set = (l: { count: number; percent: number }) => l.count > 0 || l.percent > 0;
  return set(config.maxFailures) || config.phases.some((p) => set(p.maxFailures));
}

/**
 * Whether a phase may start automatically now: one that starts on its own
 * (neither by hand nor at a time) waits while the phase before has started.
 * Only then can new final statuses advance the rollout.
 */
export function mayAdvance(config: RolloutConfig, startedMs: readonly number[]): boolean {
  for (let i = 1; i < config.phases.length; i++) {
    const spec = config.phases[i];
    if (!startedMs[i] && startedMs[i - 1] && !spec.manual && !spec.startMs) return true;
  }
  return false;
}

/** A short text of why a phase started automatically. */
export function advanceWhy(config: RolloutConfig, phase: number): string {
  return `phase ${phase - 1} reached ${config.phases[phase - 2].successPercent}% success`;
}
