// Whether a (verified) artifact may be installed on a device: device type,
// depends against the device's provides, and the monotonic version per group.
import { ArtifactError } from './errors';
import { groupVersionKey, type Manifest } from './manifest';
import { compareVersions, isValidVersion } from './version';

export interface DeviceContext {
  deviceType: string;
  /** What the device has installed (see applyProvides). */
  provides: Record<string, string>;
  /** Allow installing an older version than the one in the same group. */
  allowDowngrade?: boolean;
}

export interface Compatibility {
  /** Version of this artifact's group the device runs, if any. */
  installedVersion: string | null;
  /** The device already runs exactly this version of the group. */
  sameVersion: boolean;
}

export function checkCompatibility(manifest: Manifest, device: DeviceContext): Compatibility {
  if (!manifest.deviceTypes.includes(device.deviceType)) {
    throw new ArtifactError('incompatible', `artifact ${manifest.name} ${manifest.version} is for device types ${manifest.deviceTypes.join(', ')}, not ${device.deviceType}`);
  }
  for (const [key, wanted] of Object.entries(manifest.depends)) {
    const has = device.provides[key];
    if (has !== wanted) {
      throw new ArtifactError('incompatible', `artifact ${manifest.name} depends on ${key}=${wanted}; the device has ${has === undefined ? `no ${key}` : `${key}=${has}`}`);
    }
  }
  const installed = device.provides[groupVersionKey(manifest.group)] ?? null;
  if (installed === null || !isValidVersion(installed)) return { installedVersion: installed, sameVersion: false };
  const order = compareVersions(manifest.version, installed);
  if (order < 0 && !device.allowDowngrade) {
    throw new ArtifactError('downgrade', `artifact ${manifest.name} ${manifest.version} is older than ${installed}, which the device runs in group ${manifest.group}; allow downgrades explicitly to install it`);
  }
  return { installedVersion: installed, sameVersion: order === 0 };
}
