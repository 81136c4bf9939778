import { finish, type StepContext, type StepResult } from './step-context';
import { requestReboot } from './step-reboot';
import { reasonOf } from './update-error';

// Rollback: every installer that can puts the previous version back; if the
// device runs the new slot (or a module needed a reboot), it reboots into
// the old one; then the old slot is committed again (which also clears the
// bootloader's fallback mark) and the outcome is reported.

export async function rollbackStep(c: StepContext): Promise<StepResult> {
  const outcome = c.state.outcome ?? 'rolled-back';
  c.log(`rolling back (${c.state.reason || outcome})`);
  let reboot = false;
  try {
    await c.hooks('Rollback', 'Enter');
    const payloads = c.state.manifest ? await c.payloads() : [];
    for (const p of [...payloads].reverse()) {
      if (!(await p.installer.supportsRollback(p.ctx))) {
        c.log(`payload ${p.payload.index} (${p.payload.type}) cannot be rolled back`);
        continue;
      }
      await p.installer.rollback(p.ctx);
      if (c.state.running && !c.state.targetSlot) reboot ||= await p.installer.needsReboot(p.ctx);
    }
    if (c.state.targetSlot) {
      const bootloader = await c.bootloader();
      const boot = bootloader && (await bootloader.state());
      // Running the new slot and pointed back at the old one: reboot. (A
      // committed new slot cannot be left; the outcome says so below.)
      if (boot) reboot = boot.active === c.state.targetSlot && boot.next !== c.state.targetSlot;
    }
    await c.hooks('Rollback', 'Leave');
  } catch (err) {
    await c.hooks('Rollback', 'Error');
    return finish('failure', `${c.state.reason ? `${c.state.reason}; ` : ''}rollback failed: ${reasonOf(err)}`);
  }
  if (reboot) return { step: 'rollback-reboot', bootId: await c.opts.bootId() };
  return finishRollback(c);
}

/** After the reboot into the old system (or none needed). */
export async function rollbackRebootStep(c: StepContext): Promise<StepResult> {
  const { targetSlot } = c.state;
  const bootloader = targetSlot ? await c.bootloader() : null;
  const back = bootloader ? (await bootloader.state()).active !== targetSlot : (await c.opts.bootId()) !== c.state.bootId;
  if (!back) return requestReboot(c, 'into the previous system', (reason) => finish('failure', `${c.state.reason}; cannot reboot into the previous system: ${reason}`));
  return finishRollback(c);
}

async function finishRollback(c: StepContext): Promise<StepResult> {
  const bootloader = c.state.targetSlot ? await c.bootloader() : null;
  const boot = bootloader && (await bootloader.state());
  if (boot && boot.active === c.state.targetSlot) {
    return finish('failure', `${c.state.reason}; the new slot ${boot.active} was already committed and keeps running`);
  }
  try {
    await bootloader?.commit();
  } catch (err) {
    c.log(`could not make the old slot permanent again: ${reasonOf(err)}`);
  }
  await c.hooks('Failure', 'Enter');
  await c.hooks('Failure', 'Leave');
  return finish(c.state.outcome ?? 'rolled-back', c.state.reason);
}
