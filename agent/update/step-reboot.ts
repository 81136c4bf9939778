import type { Bootloader, Slot } from '../bootloader/bootloader';
import { crashPoint } from './fault-injection';
import { rollbackTo, type StepContext, type StepResult } from './step-context';
import { reasonOf } from './update-error';

// Reboot into the installed system, and after the restart tell (from the
// bootloader, else the boot id) whether that happened — docs/bootloader.md,
// "What the update state machine still has to do".

export async function rebootStep(c: StepContext): Promise<StepResult> {
  const { targetSlot } = c.state;
  const bootloader = targetSlot ? await c.bootloader() : null;
  if (bootloader && targetSlot) {
    if (c.state.rearm && !c.state.abort) await rearm(c, bootloader, targetSlot);
    const boot = await bootloader.state();
    if (boot.active === targetSlot) return { step: 'verify', status: 'verifying', running: true };
    if (!boot.upgradeAvailable) {
      return rollbackTo(
        'rolled-back',
        boot.fellBack
          ? `the new slot ${targetSlot} did not come up within ${boot.bootlimit} boot(s); the bootloader went back to slot ${boot.active}`
          : `the device did not boot the new slot ${targetSlot}; it still runs slot ${boot.active}`,
      );
    }
    // Switched, not rebooted yet.
  } else if ((await c.opts.bootId()) !== c.state.bootId) {
    return { step: 'verify', status: 'verifying', running: true };
  }
  if (c.state.abort) return rollbackTo('aborted', 'aborted by the operator before the reboot');
  return requestReboot(c, 'into the new system', (reason) => rollbackTo('rolled-back', `cannot reboot: ${reason}`));
}

/** After a reboot pause (pauses.ts): the switch to the new slot again, unless the device already runs it. */
async function rearm(c: StepContext, bootloader: Bootloader, target: Slot): Promise<void> {
  const boot = await bootloader.state();
  if (boot.active !== target && !(boot.next === target && boot.upgradeAvailable)) {
    await bootloader.prepareSwitch(target);
    crashPoint('pause:rearmed');
  }
  await c.save({ rearm: false, bootId: await c.opts.bootId() });
}

/** Asks for the reboot; the step after it runs in the next boot. */
export async function requestReboot(c: StepContext, what: string, failed: (reason: string) => StepResult): Promise<StepResult> {
  await c.hooks('Reboot', 'Enter');
  c.log(`rebooting ${what}`);
  await c.flush();
  try {
    await c.reboot();
  } catch (err) {
    return failed(reasonOf(err));
  }
  return 'wait';
}
