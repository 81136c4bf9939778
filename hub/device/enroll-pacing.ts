import type { HubStore } from '../store/store';

// How long a pending device is told to wait before asking again. Each ask is
// a Challenge + Enroll (a signature check and a database read); with a fixed
// 5 s, 10,000 pending devices would make 2,000 enrollments per second. The
// interval instead grows with the number of pending devices so that all of
// them together ask about `pollsPerSecond` times per second, and never drops
// below the configured minimum (which keeps a 5-device demo at 1 s). Time a
// device already spent waiting on the hub (a held Enroll, see
// admission-waiters.ts) counts toward its interval, and a device that can
// wait is told the minimum after its first ask: every later ask is held, so
// polling stays near one call per device per hold.

export const DEFAULT_PENDING_POLLS_PER_SECOND = 200;
/** The pending count is read at most this often (one indexed COUNT). */
const COUNT_REFRESH_MS = 1000;
/** Fits retry_after_ms (int32) with room to spare: an hour. */
const MAX_RETRY_MS = 3_600_000;

export function pendingRetryMs(pending: number, minMs: number, pollsPerSecond: number, heldMs = 0): number {
  const spread = Math.ceil((pending * 1000) / pollsPerSecond) - heldMs;
  return Math.min(MAX_RETRY_MS, Math.max(minMs, spread));
}

export class EnrollPacing {
  private pending = 0;
  private countedAt = -Infinity;

  constructor(
    private readonly store: HubStore,
    readonly minRetryMs: number,
    private readonly pollsPerSecond: number,
  ) {
    if (!(pollsPerSecond > 0)) throw new Error(`pending polls per second must be > 0, got ${pollsPerSecond}`);
  }

  /** retry_after_ms for a pending device that already waited `heldMs` on this call. */
  async retryAfterMs(heldMs = 0, now = Date.now(), minMs = this.minRetryMs): Promise<number> {
    if (now - this.countedAt >= COUNT_REFRESH_MS) {
      this.pending = await this.store.countDevices('pending');
      this.countedAt = now;
    }
    return pendingRetryMs(this.pending, minMs, this.pollsPerSecond, heldMs);
  }
}
