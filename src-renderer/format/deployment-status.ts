import { FINAL_DEVICE_STATUSES, type DeploymentDeviceRow, type DeviceDeploymentStatus } from '../../src-main/common/console-api';

// How deployment statuses read and look. Tones pick the badge colour; any
// status this console does not know yet is shown as the hub wrote it.

export type Tone = 'neutral' | 'progress' | 'paused' | 'ok' | 'bad' | 'skipped';

const TONES: Record<DeviceDeploymentStatus, Tone> = {
  pending: 'neutral',
  downloading: 'progress',
  'paused-before-install': 'paused',
  installing: 'progress',
  'paused-before-reboot': 'paused',
  rebooting: 'progress',
  verifying: 'progress',
  'paused-before-commit': 'paused',
  committing: 'progress',
  success: 'ok',
  failure: 'bad',
  'rolled-back': 'bad',
  'already-installed': 'skipped',
  incompatible: 'skipped',
  aborted: 'skipped',
};

/** Deployment statuses share the badge: an active one is in progress, a halted one paused, the others are neutral. */
export function statusTone(status: string): Tone {
  if (status === 'active') return 'progress';
  if (status === 'halted') return 'paused';
  return TONES[status as DeviceDeploymentStatus] ?? 'neutral';
}

export function isFinalStatus(status: string): boolean {
  return (FINAL_DEVICE_STATUSES as readonly string[]).includes(status);
}

/** Human words for a status: "rolled-back" -> "rolled back". */
export function statusText(status: string): string {
  return status.replace(/-/g, ' ');
}

/**
 * A device's progress through the update as a fraction 0..1: the download
 * fills the first 60%, then each later step adds its share. Final statuses
 * are 1 (done, one way or the other).
 */
export function deviceProgress(d: Pick<DeploymentDeviceRow, 'status' | 'bytesDone' | 'bytesTotal'>): number {
  if (isFinalStatus(d.status)) return 1;
  switch (d.status) {
    case 'downloading':
      return d.bytesTotal > 0 ? 0.6 * Math.min(1, d.bytesDone / d.bytesTotal) : 0;
    case 'paused-before-install':
      return 0.6;
    case 'installing':
      return 0.7;
    case 'paused-before-reboot':
      return 0.75;
    case 'rebooting':
      return 0.8;
    case 'verifying':
      return 0.9;
    case 'paused-before-commit':
      return 0.92;
    case 'committing':
      return 0.95;
    default:
      return 0;
  }
}
