import type { DeploymentHistoryEntry, PhaseState, RolloutOptions, RolloutState } from '../../proto/gen/fleet/v1/console';
import type { HubEvent, PhaseRecord } from '../store/store';
import { maintenanceWindow } from './maintenance-window';
import type { RolloutConfig } from './rollout-config';

export function toProtoRolloutOptions(c: RolloutConfig): RolloutOptions {
  return {
    phases: c.phases.map((p) => ({
      percent: p.percent,
      count: p.count,
      startMs: p.startMs,
      manual: p.manual,
      successPercent: p.successPercent,
      maxFailures: { ...p.maxFailures },
    })),
    pauseBefore: [...c.pauseBefore],
    window: c.window && { ...c.window },
    maxFailures: { ...c.maxFailures },
    retries: c.retries,
    dynamicGroup: c.dynamicGroup,
    maxDevices: c.maxDevices,
  };
}

export function toProtoRolloutState(c: RolloutConfig, phases: PhaseRecord[], nowMs: number): RolloutState {
  const window = c.window ? maintenanceWindow(c.window).state(nowMs) : undefined;
  const options = toProtoRolloutOptions(c);
  return {
    options,
    phases: phases.map(
      (p): PhaseState => ({
        number: p.number,
        spec: options.phases[p.number - 1],
        status: p.startedMs ? 'started' : 'waiting',
        startedMs: p.startedMs,
        total: p.total,
        counts: Object.fromEntries(Object.entries(p.counts).map(([k, v]) => [k, v ?? 0])),
      }),
    ),
    windowOpen: window?.open ?? false,
    windowEndsMs: window?.endsMs ?? 0,
    nextWindowMs: window?.nextMs ?? 0,
  };
}

export function toProtoHistoryEntry(e: HubEvent): DeploymentHistoryEntry {
  return { atMs: e.atMs, actor: e.actor, action: e.kind.replace(/^deployment\./, ''), details: { ...(e.details ?? {}) } };
}
