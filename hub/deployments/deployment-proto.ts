import type { Deployment, DeploymentDevice } from '../../proto/gen/fleet/v1/console';
import type { DeploymentCommand } from '../../proto/gen/fleet/v1/device';
import { pauseStages } from '../rollouts/rollout-config';
import { toProtoRolloutState } from '../rollouts/rollout-proto';
import type { DeploymentDeviceRecord, DeploymentRecord, PhaseRecord } from '../store/store';

/** With `rollout` the phases and window are filled in (GetDeployment, lists); without, only the plain fields. */
export function toProtoDeployment(d: DeploymentRecord, rollout?: { phases: PhaseRecord[]; nowMs: number }): Deployment {
  const counts: Record<string, number> = {};
  for (const [status, n] of Object.entries(d.counts)) counts[status] = n;
  return {
    id: d.id,
    name: d.name,
    artifactId: d.artifactId,
    artifactName: d.artifactName,
    artifactVersion: d.artifactVersion,
    status: d.status,
    createdMs: d.createdMs,
    createdBy: d.createdBy,
    finishedMs: d.finishedMs,
    counts,
    total: d.total,
    allowDowngrade: d.allowDowngrade,
    force: d.force,
    abortedBy: d.abortedBy,
    haltReason: d.haltReason,
    ...(rollout ? { rollout: toProtoRolloutState(d.rollout, rollout.phases, rollout.nowMs) } : {}),
  };
}

export function toProtoDeploymentDevice(d: DeploymentDeviceRecord): DeploymentDevice {
  return {
    deploymentId: d.deploymentId,
    deviceId: d.deviceId,
    status: d.status,
    bytesDone: d.bytesDone,
    bytesTotal: d.bytesTotal,
    reason: d.reason,
    startedMs: d.startedMs,
    updatedMs: d.updatedMs,
    finishedMs: d.finishedMs,
    artifactName: d.artifactName,
    artifactVersion: d.artifactVersion,
    deploymentName: d.deploymentName,
    phase: d.phase,
    attempt: d.attempt,
  };
}

export function toDeploymentCommand(d: DeploymentRecord, attempt = 0): DeploymentCommand {
  const pauses = pauseStages(d.rollout);
  return {
    deploymentId: d.id,
    artifactId: d.artifactId,
    artifactName: d.artifactName,
    artifactVersion: d.artifactVersion,
    artifactSize: d.artifactSize,
    allowDowngrade: d.allowDowngrade,
    force: d.force,
    ...(pauses.has('install') ? { pauseBeforeInstall: true } : {}),
    ...(pauses.has('reboot') ? { pauseBeforeReboot: true } : {}),
    ...(pauses.has('commit') ? { pauseBeforeCommit: true } : {}),
    ...(attempt ? { attempt } : {}),
  };
}
