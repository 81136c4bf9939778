import { RemoteError } from './remote-error';

// Credit-based flow control for one direction of a channel.
// The receiver grants a window; the sender spends it on data bytes and stops
// when it runs out. As the receiver consumes (writes to the pty, the socket,
// the disk), it grants again. Memory per direction is therefore bounded by
// the window plus the one chunk the producer handed over before it paused.

/** Default window: what one channel may have in flight towards the device (and queued on it). */
export const DEFAULT_WINDOW_BYTES = 1024 * 1024;
/**
 * The window of bulk channels (tunnel connections, uploads): 4 MiB fills
 * the three hops console -> hub -> device, where 1 MiB left a 1 GiB tunnel
 * at 0.74x `ssh -L` (whose window is 2 MiB, on one hop) and an upload at
 * 0.62x scp. It bounds what the device may hold per channel when its disk or
 * the target is slower than the sender, and what an upload's Ctrl-C waits
 * behind on a slow link (fleetctl waits for the close to get through).
 */
export const BULK_WINDOW_BYTES = 4 * 1024 * 1024;
/** Data frames are cut to this size (matches the Download chunk limit). */
export const MAX_FRAME_BYTES = 64 * 1024;

/**
 * The sending side. `write` sends as much as the credit allows and holds the
 * rest; it returns false when it holds bytes, and the caller must stop
 * producing (pause the pty/socket/file read) until `onDrain` fires.
 */
export class CreditSender {
  private credit = 0;
  private held: Array<{ bytes: Uint8Array; tag: string }> = [];
  private heldBytes = 0;
  private drainListeners = new Set<() => void>();

  constructor(
    /** `tag` is what the producer passed to `write` (e.g. stdout / stderr), so one credit can pace several streams. */
    private readonly sendData: (chunk: Uint8Array, tag: string) => void,
    private readonly maxFrameBytes = MAX_FRAME_BYTES,
  ) {}

  /** Credit not yet spent. */
  get available(): number {
    return this.credit;
  }

  /** Bytes accepted by `write` but not yet sent for lack of credit. */
  get pendingBytes(): number {
    return this.heldBytes;
  }

  /** A `window` frame arrived from the receiver. */
  grant(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new RemoteError('protocol', `window grant must be a positive integer, got ${bytes}`);
    this.credit += bytes;
    this.flush();
    if (this.heldBytes === 0) for (const l of [...this.drainListeners]) l();
  }

  /** Sends what credit allows; false = some bytes are held, stop producing until drain. */
  write(chunk: Uint8Array, tag = ''): boolean {
    if (chunk.byteLength === 0) return this.heldBytes === 0;
    this.held.push({ bytes: chunk, tag });
    this.heldBytes += chunk.byteLength;
    this.flush();
    return this.heldBytes === 0;
  }

  /** Called every time the held bytes have all been sent. Returns an unsubscribe function. */
  onDrain(listener: () => void): () => void {
    this.drainListeners.add(listener);
    return () => this.drainListeners.delete(listener);
  }

  /** Resolves once nothing is held (at once if nothing is). */
  drained(): Promise<void> {
    if (this.heldBytes === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onDrain(() => {
        off();
        resolve();
      });
    });
  }

  /** Drops held bytes and listeners (the channel ended). */
  dispose(): void {
    this.held = [];
    this.heldBytes = 0;
    this.drainListeners.clear();
  }

  private flush(): void {
    while (this.held.length > 0 && this.credit > 0) {
      const { bytes: head, tag } = this.held[0];
      const n = Math.min(head.byteLength, this.credit, this.maxFrameBytes);
      const part = n === head.byteLength ? head : head.subarray(0, n);
      if (n === head.byteLength) this.held.shift();
      else this.held[0] = { bytes: head.subarray(n), tag };
      this.heldBytes -= n;
      this.credit -= n;
      this.sendData(part, tag);
    }
  }
}

/**
 * The receiving side: grants the initial window, checks the sender keeps to
 * it, and grants again once a quarter of the window has been consumed (few
 * window frames — four per window — and the sender is never held for long
 * waiting for a grant).
 */
export class CreditGranter {
  private outstanding = 0;
  private consumedSinceGrant = 0;

  constructor(
    private readonly sendGrant: (bytes: number) => void,
    readonly windowBytes = DEFAULT_WINDOW_BYTES,
  ) {}

  /** Grants the first window. */
  start(): void {
    this.outstanding = this.windowBytes;
    this.sendGrant(this.windowBytes);
  }

  /** Data arrived; throws a `protocol` RemoteError if the sender overran its credit. */
  received(bytes: number): void {
    this.outstanding -= bytes;
    if (this.outstanding < 0) throw new RemoteError('protocol', `the other side sent ${-this.outstanding} bytes past its window of ${this.windowBytes}`);
  }

  /** Grants extra credit at once (a reader that had stopped reading and resumes). */
  extend(bytes: number): void {
    this.outstanding += bytes;
    this.sendGrant(bytes);
  }

  /** Bytes were handed on (written to the pty, socket or disk): grant them back in batches. */
  consumed(bytes: number): void {
    this.consumedSinceGrant += bytes;
    if (this.consumedSinceGrant >= this.windowBytes / 4) {
      const n = this.consumedSinceGrant;
      this.consumedSinceGrant = 0;
      this.outstanding += n;
      this.sendGrant(n);
    }
  }
}
