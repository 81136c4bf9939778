/** Retry delays for the hub connection. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

export const HUB_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000 };

// Exponential backoff with "equal jitter": half the window is fixed so retries
// never bunch up at zero, half is random so many consoles do not retry in step.
export function backoffDelay(attempt: number, opts: BackoffOptions = HUB_BACKOFF): number {
  const window = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  const random = (opts.random ?? Math.random)();
  return Math.round(window / 2 + (window / 2) * random);
}
