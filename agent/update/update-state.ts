import type { Manifest } from '../../artifact';
import type { Slot } from '../bootloader/bootloader';

// What the agent knows about its current (or last) deployment, persisted in
// stateDir/update/state.json before every transition. `step` is where to go
// on after a restart; `status` is what the hub is told.

export type UpdateStatus =
  | 'downloading'
  | 'paused-before-install'
  | 'installing'
  | 'paused-before-reboot'
  | 'rebooting'
  | 'verifying'
  | 'paused-before-commit'
  | 'committing'
  | 'success'
  | 'failure'
  | 'rolled-back'
  | 'already-installed'
  | 'incompatible'
  | 'aborted';

export type FinalStatus = 'success' | 'failure' | 'rolled-back' | 'already-installed' | 'incompatible' | 'aborted';

/**
 * download  fetch the artifact into artifact.part (resumable)
 * store     verify it (signature, compatibility, hashes) while each payload goes to its installer's store()
 * install   activate (app link switch, prepareSwitch of the other slot, module ArtifactInstall)
 * reboot    reboot into what was installed
 * verify    health checks on the new system
 * commit    make it permanent
 * rollback  put the old system back (then `outcome` is reported)
 * rollback-reboot  reboot into the old slot after a rollback
 * done      final: `status` is final
 */
export type UpdateStep = 'download' | 'store' | 'install' | 'reboot' | 'verify' | 'commit' | 'rollback' | 'rollback-reboot' | 'done';

/** Pause points (issue #4), in the order a deployment meets them. */
export type PauseStage = 'install' | 'reboot' | 'commit';
export const PAUSE_STAGES: readonly PauseStage[] = ['install', 'reboot', 'commit'];

export interface DeploymentOrder {
  deploymentId: string;
  artifactId: string;
  artifactName: string;
  artifactVersion: string;
  artifactSize: number;
  allowDowngrade: boolean;
  force: boolean;
  /** Stages to stop before until the hub sends a DeploymentContinue for them. */
  pauseBefore?: PauseStage[];
  /** The hub's attempt (0 = first offer; a retry after a failure comes with a higher one). */
  attempt?: number;
}

export interface UpdateState {
  format: 1;
  order: DeploymentOrder;
  step: UpdateStep;
  status: UpdateStatus;
  /** Why it failed, rolled back or was refused. */
  reason: string;
  /** Last report sequence number sent (increases across restarts). */
  seq: number;
  /** Download offset known to be on disk (fsynced); the file is cut back to it on resume. */
  bytesDone: number;
  bytesTotal: number;
  /** The verified manifest, once the artifact was read. */
  manifest?: Manifest;
  /** The device's provides before this deployment (the commit applies the artifact's on top). */
  providesBefore: Record<string, string>;
  /** The slot the rootfs payload was written to (set once the manifest has a rootfs-image). */
  targetSlot?: Slot;
  /** Boot id when a reboot was asked for: a different one means it happened. */
  bootId?: string;
  /** The device runs what was installed (rebooted into it, or no reboot needed). */
  running: boolean;
  /** The operator aborted this deployment. */
  abort: boolean;
  /** Waiting before this stage for the hub's DeploymentContinue (`step` is the stage's step, not started). */
  paused?: PauseStage;
  /** Pauses already passed: never held again (after a restart, a repeated continue). */
  released?: PauseStage[];
  /** The reboot pause pointed the bootloader back at the running slot; the reboot step arms the switch again. */
  rearm?: boolean;
  /** Final status once a rollback is done. */
  outcome?: FinalStatus;
  /** Log lines not yet sent to the hub. */
  logs: string[];
}

export function newState(order: DeploymentOrder, providesBefore: Record<string, string>): UpdateState {
  return {
    format: 1,
    order,
    step: 'download',
    status: 'downloading',
    reason: '',
    seq: 0,
    bytesDone: 0,
    bytesTotal: order.artifactSize,
    providesBefore,
    running: false,
    abort: false,
    logs: [],
  };
}
