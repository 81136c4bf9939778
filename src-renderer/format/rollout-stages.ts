import type { DeviceDeploymentStatus } from '../../src-main/common/console-api';

// A deployment's (or a phase's) counts per status as the stages an operator
// watches in a rollout: how many devices downloaded, wait at a pause,
// installed, committed, failed. A device that went further counts for every
// stage behind it (a committed device also downloaded and installed).

const ORDER: Partial<Record<DeviceDeploymentStatus, number>> = {
  pending: 0,
  downloading: 1,
  'paused-before-install': 2,
  installing: 3,
  'paused-before-reboot': 4,
  rebooting: 5,
  verifying: 6,
  'paused-before-commit': 7,
  committing: 8,
  success: 9,
};

export interface StageCounts {
  downloaded: number;
  paused: number;
  installed: number;
  committed: number;
  failed: number;
}

export const STAGES: readonly (keyof StageCounts)[] = ['downloaded', 'paused', 'installed', 'committed', 'failed'];

export function stageCounts(counts: Partial<Record<string, number>>): StageCounts {
  const out: StageCounts = { downloaded: 0, paused: 0, installed: 0, committed: 0, failed: 0 };
  for (const [status, n = 0] of Object.entries(counts)) {
    const rank = ORDER[status as DeviceDeploymentStatus];
    if (status.startsWith('paused-')) out.paused += n;
    if (status === 'failure' || status === 'rolled-back') out.failed += n;
    if (rank === undefined) continue;
    if (rank >= 2) out.downloaded += n;
    if (rank >= 4) out.installed += n;
    if (rank === 9) out.committed += n;
  }
  return out;
}

/** Devices of a phase or deployment that are final. */
export function doneCount(counts: Partial<Record<string, number>>): number {
  const final = ['success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted'];
  return final.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
}
