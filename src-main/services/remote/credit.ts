// Credit-based flow control for one direction of a remote channel, the
// console's half of agent/remote/flow-control.ts (same rules; the rooms do
// not share code). Only data bytes count. The receiver grants a window and
// grants again once half of it has been *consumed* (rendered, written to
// disk, flushed to a socket), so nothing queues more than one window.

export const WINDOW_BYTES = 256 * 1024;
/**
 * A download's receive window: at most one window is in flight per round
 * trip, so over a 50 ms link 256 KiB would cap a download near 5 MB/s. The
 * same 16 MiB as fleetctl's downloads (cli/remote/credit.ts has the
 * figures); it is memory here, where the bytes land, not on the hub.
 */
export const BULK_WINDOW_BYTES = 16 * 1024 * 1024;
/**
 * A tunnel connection's receive window, as fleetctl's (cli/remote/credit.ts
 * has the figures: 1 MiB capped a tunnel over a long link near 1 MiB per
 * round trip). Memory only while the local client does not read; a browser
 * opens a few connections per tunnel.
 */
export const TUNNEL_WINDOW_BYTES = 8 * 1024 * 1024;
/** Data frames are cut to this size. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** Sending side: sends what the credit allows, holds the rest until the other side grants more. */
export class CreditSender {
  private credit = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly drainListeners = new Set<() => void>();

  constructor(private readonly sendData: (chunk: Buffer) => void) {}

  get pendingBytes(): number {
    return this.heldBytes;
  }

  grant(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`window grant must be a positive integer, got ${bytes}`);
    this.credit += bytes;
    this.flush();
    if (this.heldBytes === 0) for (const l of [...this.drainListeners]) l();
  }

  /** false: bytes are held; stop producing until drained(). */
  write(chunk: Buffer): boolean {
    if (chunk.byteLength > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.byteLength;
      this.flush();
    }
    return this.heldBytes === 0;
  }

  drained(): Promise<void> {
    if (this.heldBytes === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.drainListeners.delete(done);
        resolve();
      };
      this.drainListeners.add(done);
    });
  }

  /** The channel ended: wakes every waiter and drops held bytes. */
  dispose(): void {
    this.held = [];
    this.heldBytes = 0;
    for (const l of [...this.drainListeners]) l();
    this.drainListeners.clear();
  }

  private flush(): void {
    while (this.held.length > 0 && this.credit > 0) {
      const head = this.held[0];
      const n = Math.min(head.byteLength, this.credit, MAX_FRAME_BYTES);
      if (n === head.byteLength) this.held.shift();
      else this.held[0] = head.subarray(n);
      this.heldBytes -= n;
      this.credit -= n;
      this.sendData(n === head.byteLength ? head : head.subarray(0, n));
    }
  }
}

/** Receiving side: the initial grant, the overrun check, and grants back as bytes are consumed. */
export class CreditGranter {
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

  received(bytes: number): void {
    this.outstanding -= bytes;
    if (this.outstanding < 0) throw new Error(`the device sent ${-this.outstanding} bytes past its window of ${this.windowBytes}`);
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
