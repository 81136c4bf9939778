import { rollbackTo, type StepContext, type StepResult } from './step-context';
import { reasonOf } from './update-error';

// Verify: the new system must prove itself before it is committed — the
// agent reaches the hub, the configured units are active, the check scripts
// pass — all within the health timeout. A failure rolls back.

export const DEFAULT_HEALTH_TIMEOUT_MS = 5 * 60_000;

export async function verifyStep(c: StepContext): Promise<StepResult> {
  const fellBack = await notOnTarget(c);
  if (fellBack) return fellBack;
  if (c.state.abort) return rollbackTo('aborted', 'aborted by the operator');
  const timeoutMs = c.opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  try {
    await c.hooks('Verify', 'Enter');
    try {
      await c.waitOnline(c.signal, timeoutMs);
    } catch (err) {
      if (c.signal.aborted) throw err;
      throw new Error(`the agent did not reach the hub within ${Math.round(timeoutMs / 1000)} s of the new system starting`);
    }
    for (const check of c.opts.healthChecks ?? []) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`health checks did not finish within ${Math.round(timeoutMs / 1000)} s (next: ${check.name})`);
      await withTimeout(check.run(c.signal), left, `${check.name} did not finish within the health timeout`, c.signal);
    }
    await c.hooks('Verify', 'Leave');
  } catch (err) {
    if (c.signal.aborted) throw err;
    await c.hooks('Verify', 'Error');
    return rollbackTo('rolled-back', `health check failed: ${reasonOf(err)}`);
  }
  c.log('health checks passed');
  return { step: 'commit', status: 'committing' };
}

/** After a reboot: if the device does not run the target slot, the bootloader fell back. */
export async function notOnTarget(c: StepContext): Promise<StepResult | null> {
  const { targetSlot } = c.state;
  const bootloader = targetSlot ? await c.bootloader() : null;
  if (!bootloader) return null;
  const boot = await bootloader.state();
  if (boot.active === targetSlot) return null;
  return rollbackTo(
    'rolled-back',
    boot.fellBack
      ? `the new slot ${targetSlot} did not come up within ${boot.bootlimit} boot(s); the bootloader went back to slot ${boot.active}`
      : `the device runs slot ${boot.active}, not the new slot ${targetSlot}`,
  );
}

/** The check's result, unless the time runs out or the step is aborted first. */
function withTimeout<T>(work: Promise<T>, ms: number, message: string, signal: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => {};
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    onAbort = () => reject(signal.reason ?? new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort);
  });
  return Promise.race([work, stop]).finally(() => {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  });
}
