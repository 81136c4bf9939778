// Credit flow control of one channel, from the operator's side (the same
// rules as the device's agent/remote/flow-control.ts, which fleetctl may not
// import): only data/stderr bytes count; each side grants the other a window
// with `window` frames, the first grant included.

/** Our receive window: a few round trips of loopback throughput, bounded memory per channel. */
export const WINDOW_BYTES = 1024 * 1024;
/**
 * A file download's receive window. The sender has at most one window in
 * flight per round trip, so the window caps a download near window / RTT.
 * Over a 50 ms link (a device on a cellular network, a hub abroad;
 * bench/remote-long-link.ts) 1 MiB measured 12.9 MB/s, 4 MiB 30.7 and
 * 16 MiB 56.3, against scp's 29 (OpenSSH grants 2 MiB). The hub holds none
 * of it (it stops reading the device while our side of the relay is full):
 * the window is memory here, where the bytes land, on the operator's
 * machine — not on the device, whose upload window stays 4 MiB.
 */
export const BULK_WINDOW_BYTES = 16 * 1024 * 1024;
/**
 * A tunnel connection's receive window. Over a long link a tunnel moves at
 * most about one window per round trip towards us: with 1 MiB, 12 MiB from
 * a device-side server over a 200 ms round trip took 5.0 s
 * (cli/remote-commands.test.ts; 1.5 s now). bench/remote-tunnel-long-link.ts
 * at 50 ms, 64 MiB pulled: 4 MiB 40.1 MB/s, 8 MiB 68.3, 16 MiB 87.7,
 * against `ssh -L` (2 MiB) 35-37. 8 MiB: memory here only while the local
 * client reads slower than the link, and a browser opens a few connections.
 */
export const TUNNEL_WINDOW_BYTES = 8 * 1024 * 1024;
/** Data frames are cut to this size (the device uses the same). */
export const MAX_FRAME_BYTES = 64 * 1024;

/** What the other side lets us send. `take` waits for credit; `end` releases every waiter with 0. */
export class OutboundCredit {
  private credit = 0;
  private ended = false;
  private waiters: Array<() => void> = [];

  get available(): number {
    return this.credit;
  }

  /** A `window` frame arrived. */
  grant(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`the other side granted an invalid window of ${bytes} bytes`);
    this.credit += bytes;
    this.wake();
  }

  /**
   * Resolves with how many of `wanted` bytes may be sent now (at least 1, at
   * most `wanted` and one frame) and spends them; 0 once the channel ended.
   */
  async take(wanted: number, maxFrame = MAX_FRAME_BYTES): Promise<number> {
    while (this.credit === 0 && !this.ended) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.ended) return 0;
    const n = Math.min(wanted, this.credit, maxFrame);
    this.credit -= n;
    return n;
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}

/**
 * What we let the other side send: grants the first window, checks the
 * sender keeps to it, and grants again once half a window has been consumed
 * (written to stdout, the socket or the disk), not merely received.
 */
export class InboundWindow {
  private outstanding = 0;
  private consumedSinceGrant = 0;

  constructor(
    private readonly sendGrant: (bytes: number) => void,
    readonly windowBytes = WINDOW_BYTES,
  ) {}

  start(): void {
    this.outstanding = this.windowBytes;
    this.sendGrant(this.windowBytes);
  }

  /** Data arrived; throws when the sender went past its credit. */
  received(bytes: number): void {
    this.outstanding -= bytes;
    if (this.outstanding < 0) throw new Error(`the other side sent ${-this.outstanding} bytes past the window of ${this.windowBytes}`);
  }

  consumed(bytes: number): void {
    this.consumedSinceGrant += bytes;
    if (this.consumedSinceGrant >= this.windowBytes / 2) {
      const n = this.consumedSinceGrant;
      this.consumedSinceGrant = 0;
      this.outstanding += n;
      this.sendGrant(n);
    }
  }
}
