import { disarm, holds } from './pauses';
import { rollbackTo, type StepContext, type StepResult } from './step-context';
import { reasonOf } from './update-error';

// Install: activate what store() put in place. After a power cut right
// after the bootloader switch the device may already run the new slot.

export async function installStep(c: StepContext): Promise<StepResult> {
  if (c.state.abort) return rollbackTo('aborted', 'aborted by the operator');
  const bootloader = c.state.targetSlot ? await c.bootloader() : null;
  if (bootloader) {
    const boot = await bootloader.state();
    if (boot.active === c.state.targetSlot && boot.upgradeAvailable) {
      // Unreleased: the pause before the reboot takes the device back (pauses.ts).
      if (holds(c.state, 'reboot')) return { step: 'reboot', status: 'rebooting', bootId: await c.opts.bootId() };
      c.log(`running slot ${boot.active} on trial (the device restarted right after the switch)`);
      return { step: 'verify', status: 'verifying', running: true };
    }
  }
  let reboot = false;
  try {
    await c.hooks('Install', 'Enter');
    for (const p of await c.payloads()) {
      await p.installer.install(p.ctx);
      reboot ||= await p.installer.needsReboot(p.ctx);
    }
    await c.hooks('Install', 'Leave');
  } catch (err) {
    if (c.signal.aborted) throw err;
    await c.hooks('Install', 'Error');
    return rollbackTo('rolled-back', `install failed: ${reasonOf(err)}`);
  }
  if (reboot && holds(c.state, 'reboot')) await disarm(c);
  if (reboot) return { step: 'reboot', status: 'rebooting', bootId: await c.opts.bootId() };
  return { step: 'verify', status: 'verifying', running: true };
}
