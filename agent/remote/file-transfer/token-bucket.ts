// Bytes-per-minute limits (mender-connect's MaxBytesTx/RxPerMinute), as a
// token bucket that holds at most one second's worth so a burst never
// exceeds the rate by much. A take larger than the bucket runs it into debt
// and waits that debt off, so any chunk size works and several transfers
// sharing one bucket share the rate.

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;
  private readonly capacity: number;

  constructor(
    readonly bytesPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = bytesPerMinute / 60_000;
    this.capacity = bytesPerMinute / 60;
    this.tokens = this.capacity;
    this.last = now();
  }

  /** Milliseconds to wait before `bytes` may pass (and takes them). */
  reserve(bytes: number): number {
    if (!Number.isFinite(this.bytesPerMinute)) return 0;
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (t - this.last) * this.perMs);
    this.last = t;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.perMs);
  }

  /** Resolves when `bytes` may pass. */
  async take(bytes: number): Promise<void> {
    const ms = this.reserve(bytes);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}
