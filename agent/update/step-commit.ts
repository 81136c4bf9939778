import { applyProvides } from '../../artifact';
import { finish, rollbackTo, type StepContext, type StepResult } from './step-context';
import { notOnTarget } from './step-verify';
import { reasonOf } from './update-error';

// Commit: make the new system permanent (bootloader commit, ...), then
// record what the device provides now. Only after this is success reported.

export async function commitStep(c: StepContext): Promise<StepResult> {
  const fellBack = await notOnTarget(c);
  if (fellBack) return fellBack;
  const manifest = c.state.manifest!;
  try {
    await c.hooks('Commit', 'Enter');
    for (const p of await c.payloads()) await p.installer.commit(p.ctx);
  } catch (err) {
    await c.hooks('Commit', 'Error');
    return rollbackTo('rolled-back', `commit failed: ${reasonOf(err)}`);
  }
  await c.saveProvides(applyProvides(c.state.providesBefore, manifest));
  await c.hooks('Commit', 'Leave');
  c.log(`committed: the device runs ${manifest.name} ${manifest.version}`);
  return finish('success');
}
