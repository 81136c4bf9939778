import type { Deployment, DeploymentDevice } from '../../proto/gen/fleet/v1/console';
import type { DeploymentCommand } from '../../proto/gen/fleet/v1/device';
import type { DeploymentDeviceRecord, DeploymentRecord } from '../store/store';

export function toProtoDeployment(d: DeploymentRecord): Deployment {
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
  };
}

export function toDeploymentCommand(d: DeploymentRecord): DeploymentCommand {
  return {
    deploymentId: d.id,
    artifactId: d.artifactId,
    artifactName: d.artifactName,
    artifactVersion: d.artifactVersion,
    artifactSize: d.artifactSize,
    allowDowngrade: d.allowDowngrade,
    force: d.force,
  };
}
