import type { DeploymentDeviceRow, DeploymentHistoryEntry, DeploymentRow, DeploymentStatus, DeviceDeploymentStatus, PauseStage, PhaseSpec, RolloutState } from '../../common/console-api';
import type { Deployment, DeploymentDevice, DeploymentHistory, PhaseSpec as ProtoPhaseSpec, RolloutState as ProtoRolloutState } from '../../../proto/gen/fleet/v1/console';

// Hub messages -> the console API's plain rows. Statuses are passed through
// as the hub names them: a newer hub's status shows up as its own word
// rather than breaking the page (the renderer styles only the known ones).

export function toDeploymentRow(d: Deployment): DeploymentRow {
  return {
    id: d.id,
    name: d.name,
    artifactId: d.artifactId,
    artifactName: d.artifactName,
    artifactVersion: d.artifactVersion,
    status: d.status as DeploymentStatus,
    createdMs: d.createdMs,
    createdBy: d.createdBy,
    finishedMs: d.finishedMs,
    counts: { ...d.counts } as DeploymentRow['counts'],
    total: d.total,
    allowDowngrade: d.allowDowngrade,
    force: d.force,
    abortedBy: d.abortedBy,
    haltReason: d.haltReason ?? '',
    rollout: d.rollout ? toRolloutState(d.rollout) : null,
  };
}

function toRolloutState(r: ProtoRolloutState): RolloutState {
  const o = r.options;
  return {
    phases: r.phases.map((p) => ({
      number: p.number,
      spec: toPhaseSpec(p.spec),
      status: p.status === 'started' ? 'started' : 'waiting',
      startedMs: p.startedMs,
      total: p.total,
      counts: { ...p.counts } as RolloutState['phases'][number]['counts'],
    })),
    pauseBefore: (o?.pauseBefore ?? []) as PauseStage[],
    window: o?.window?.cron ? { ...o.window } : null,
    maxFailures: { count: o?.maxFailures?.count ?? 0, percent: o?.maxFailures?.percent ?? 0 },
    retries: o?.retries ?? 0,
    dynamicGroup: o?.dynamicGroup ?? '',
    maxDevices: o?.maxDevices ?? 0,
    windowOpen: r.windowOpen,
    windowEndsMs: r.windowEndsMs,
    nextWindowMs: r.nextWindowMs,
  };
}

function toPhaseSpec(s: ProtoPhaseSpec | undefined): PhaseSpec {
  return {
    percent: s?.percent ?? 0,
    count: s?.count ?? 0,
    startMs: s?.startMs ?? 0,
    manual: s?.manual ?? false,
    successPercent: s?.successPercent ?? 0,
    maxFailures: { count: s?.maxFailures?.count ?? 0, percent: s?.maxFailures?.percent ?? 0 },
  };
}

export function toHistory(h: DeploymentHistory | undefined): DeploymentHistoryEntry[] {
  return (h?.entries ?? []).map((e) => ({ atMs: e.atMs, actor: e.actor, action: e.action, details: { ...e.details } }));
}

export function toDeploymentDeviceRow(d: DeploymentDevice): DeploymentDeviceRow {
  return {
    deploymentId: d.deploymentId,
    deviceId: d.deviceId,
    status: d.status as DeviceDeploymentStatus,
    bytesDone: d.bytesDone,
    bytesTotal: d.bytesTotal,
    reason: d.reason,
    startedMs: d.startedMs,
    updatedMs: d.updatedMs,
    finishedMs: d.finishedMs,
    artifactName: d.artifactName,
    artifactVersion: d.artifactVersion,
    deploymentName: d.deploymentName,
    phase: d.phase ?? 0,
    attempt: d.attempt ?? 0,
  };
}
