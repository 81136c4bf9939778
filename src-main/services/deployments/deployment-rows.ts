import type { DeploymentDeviceRow, DeploymentRow, DeploymentStatus, DeviceDeploymentStatus } from '../../common/console-api';
import type { Deployment, DeploymentDevice } from '../../../proto/gen/fleet/v1/console';

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
  };
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
  };
}
