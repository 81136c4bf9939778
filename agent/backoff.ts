// Exponential backoff with full jitter (AWS architecture blog, "Exponential
// Backoff and Jitter"): the wait is uniform in [0, min(max, base * 2^n)], so a
// fleet that lost its hub at the same instant does not come back in lockstep.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {
    if (!(opts.baseMs > 0) || !(opts.maxMs >= opts.baseMs)) throw new Error(`backoff needs 0 < baseMs <= maxMs, got ${opts.baseMs}/${opts.maxMs}`);
  }

  /** The upper bound of the next wait. */
  ceiling(): number {
    // 2^31 already exceeds any sane max; capping the exponent avoids Infinity.
    return Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(this.attempt, 31));
  }

  /** The next wait in ms; each call widens the window until maxMs. */
  next(): number {
    const wait = Math.floor(this.random() * this.ceiling());
    this.attempt++;
    return wait;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** ms plus up to `fraction` of it at random, so polling devices spread out. */
export function withJitter(ms: number, fraction = 0.2, random: () => number = Math.random): number {
  return Math.floor(ms + ms * fraction * random());
}
