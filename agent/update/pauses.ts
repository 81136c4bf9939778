import { crashPoint } from './fault-injection';
import { requestReboot } from './step-reboot';
import { finish, rollbackTo, type StepContext, type StepResult } from './step-context';
import { notOnTarget } from './step-verify';
import type { PauseStage, UpdateState, UpdateStatus, UpdateStep } from './update-state';

// Pause points (issue #4, docs/rollouts.md): with pause_before_<stage> in
// its command, the engine stops before that stage, reports
// paused-before-<stage> and waits — across agent restarts and reboots — for
// the hub's DeploymentContinue of that very stage.
//
//   install  after the download and the verified write into the inactive
//            slot (store): nothing that runs has changed yet
//   reboot   after install; the bootloader switch is undone while waiting
//            (`rearm`), so a power cut boots the running system, not the new
//            one; the reboot step arms it again once released
//   commit   after the reboot and the passed health checks, on trial: the
//            agent neither reboots nor checks again while waiting (a power
//            cut is a boot of the trial slot: the boot limit may send the
//            device back, which is then rolled-back as for any failed boot)

/** The step each pause holds back, entered from the step before it. */
const GATES: Record<PauseStage, { from: UpdateStep; to: UpdateStep }> = {
  install: { from: 'store', to: 'install' },
  reboot: { from: 'install', to: 'reboot' },
  commit: { from: 'verify', to: 'commit' },
};

/** What a device reports once a pause is released (the held step's status). */
export const STATUS_AFTER_PAUSE: Record<PauseStage, UpdateStatus> = {
  install: 'installing',
  reboot: 'rebooting',
  commit: 'committing',
};

export function pausedStatus(stage: PauseStage): UpdateStatus {
  return `paused-before-${stage}`;
}

/** Whether the deployment still has to stop before `stage`. */
export function holds(state: UpdateState, stage: PauseStage): boolean {
  return !state.abort && !!state.order.pauseBefore?.includes(stage) && !state.released?.includes(stage);
}

/** The pause a transition from `from` to `to` must stop at, if any. */
export function pauseAt(state: UpdateState, from: UpdateStep, to: UpdateStep): PauseStage | undefined {
  for (const [stage, gate] of Object.entries(GATES) as [PauseStage, (typeof GATES)[PauseStage]][]) {
    if (gate.from === from && gate.to === to && holds(state, stage)) return stage;
  }
  return undefined;
}

/**
 * Runs instead of the held step while paused (after a start, a reboot, or
 * when the pause begins): keeps the device where the pause wants it. 'wait'
 * = stay paused; a transition gives the pause up (the new slot fell back).
 */
export async function holdStep(c: StepContext): Promise<StepResult> {
  // Aborted while the step before the pause was finishing.
  if (c.state.abort) return c.state.paused === 'install' ? finish('aborted', 'aborted by the operator before installing') : rollbackTo('aborted', 'aborted by the operator');
  if (c.state.paused === 'reboot') return holdBeforeReboot(c);
  if (c.state.paused === 'commit') return (await notOnTarget(c)) ?? 'wait';
  return 'wait';
}

async function holdBeforeReboot(c: StepContext): Promise<StepResult> {
  const { targetSlot } = c.state;
  const bootloader = targetSlot ? await c.bootloader() : null;
  if (!bootloader || !targetSlot) return 'wait';
  const boot = await bootloader.state();
  if (boot.active === targetSlot) {
    // Power was cut after the switch and before it was undone: the new
    // system came up without its release. Back to the running one, paused.
    await c.save({ rearm: true });
    await bootloader.rollback();
    return requestReboot(c, 'back into the previous system: the update waits for its release before the reboot', (reason) =>
      rollbackTo('rolled-back', `the new slot ${targetSlot} started before its reboot was released, and the device cannot reboot back: ${reason}`),
    );
  }
  await disarm(c);
  return 'wait';
}

/** Points the bootloader back at the running slot while the reboot waits for its release (the reboot step arms it again). */
export async function disarm(c: StepContext): Promise<void> {
  const { targetSlot } = c.state;
  const bootloader = targetSlot ? await c.bootloader() : null;
  if (!bootloader || !targetSlot) return;
  const boot = await bootloader.state();
  if (boot.active === targetSlot || boot.next !== targetSlot || !boot.upgradeAvailable) return;
  // Saved first: a cut right after the undo still arms the switch again later.
  await c.save({ rearm: true });
  await bootloader.rollback();
  crashPoint('pause:disarmed');
  c.log(`slot ${targetSlot} is ready; the bootloader keeps booting slot ${boot.active} until the reboot is released`);
}
