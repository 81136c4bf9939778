import type { DeploymentStatus } from '../store/store';
import { maintenanceWindow } from './maintenance-window';
import type { RolloutConfig } from './rollout-config';
import { stageLevel, WINDOW_STAGES, type Stage } from './stages';

/**
 * Whether a device waiting before `stage` may go on now: the deployment is
 * active (a halted one releases nothing), the operator released that stage
 * for it (its own level or its phase's) if it is one of the deployment's
 * pause points, and, for install and reboot, the maintenance window is open.
 */
export function mayPass(stage: Stage, config: RolloutConfig, status: DeploymentStatus, level: number, nowMs: number): boolean {
  if (status !== 'active') return false;
  if (config.pauseBefore.includes(stage) && level < stageLevel(stage)) return false;
  if (config.window && WINDOW_STAGES.includes(stage) && !maintenanceWindow(config.window).state(nowMs).open) return false;
  return true;
}
