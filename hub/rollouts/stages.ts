// Pause points of an update, in the order a device meets them. A release
// level says how far a device may go: releasing a stage releases every
// stage before it too (0 = nothing released).

export const STAGES = ['install', 'reboot', 'commit'] as const;
export type Stage = (typeof STAGES)[number];

export const PAUSED_STATUSES = ['paused-before-install', 'paused-before-reboot', 'paused-before-commit'] as const;
export type PausedStatus = (typeof PAUSED_STATUSES)[number];

export function isStage(value: string): value is Stage {
  return (STAGES as readonly string[]).includes(value);
}

/** 1 for install, 2 for reboot, 3 for commit. */
export function stageLevel(stage: Stage): number {
  return STAGES.indexOf(stage) + 1;
}

export function stageAtLevel(level: number): Stage | undefined {
  return STAGES[level - 1];
}

/** The stage a paused status waits before, or undefined for any other status. */
export function pausedStage(status: string): Stage | undefined {
  const m = /^paused-before-(install|reboot|commit)$/.exec(status);
  return m ? (m[1] as Stage) : undefined;
}

/** Stages a maintenance window holds back: downloads and commits may happen any time. */
export const WINDOW_STAGES: readonly Stage[] = ['install', 'reboot'];
