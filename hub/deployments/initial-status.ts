import type { ArtifactRecord, DeploymentDeviceStatus, DeviceRecord } from '../store/store';

export interface InitialStatus {
  status: DeploymentDeviceStatus;
  reason: string;
}

/**
 * What the hub decides for a target without contacting it: incompatible when
 * its device type is not one of the artifact's, already-installed when its
 * inventory shows this artifact name and version (unless forced), else
 * pending. The agent checks again and has the last word.
 */
export function initialStatus(device: DeviceRecord, artifact: ArtifactRecord, force: boolean): InitialStatus {
  const type = device.identity.device_type ?? '';
  if (!artifact.deviceTypes.includes(type)) {
    return { status: 'incompatible', reason: `device type "${type}" is not one of the artifact's device types (${artifact.deviceTypes.join(', ')})` };
  }
  const name = device.inventory[`artifact.${artifact.group}.name`];
  const version = device.inventory[`artifact.${artifact.group}.version`];
  if (!force && name === artifact.name && version === artifact.version) {
    return { status: 'already-installed', reason: `the device already runs ${artifact.name} ${artifact.version} (use force to install again)` };
  }
  return { status: 'pending', reason: '' };
}
