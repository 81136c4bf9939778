import type { ChannelFrame, ChannelPeer } from './channel-frame';
import { CreditGranter, CreditSender, DEFAULT_WINDOW_BYTES } from './flow-control';

// The operator's end of a channel for tests (and a model of what the hub
// relay / console must do): grants credit as it reads, respects the device's
// grants when it sends, and records every frame.

export interface TestOperatorOptions {
  /** Credit granted to the device for its data (default 256 KiB). */
  windowBytes?: number;
  /** false = grant the first window only and never again (a console that stopped reading). */
  keepGranting?: boolean;
}

export class TestOperator {
  readonly frames: ChannelFrame[] = [];
  received = 0;
  closedWith: string | undefined;
  private text = '';
  /** Standard error of a command session (decoded as UTF-8). */
  stderr = '';
  private chunks: Buffer[] = [];
  private readonly granter: CreditGranter;
  private readonly sender: CreditSender;
  private waiters: Array<() => void> = [];
  readonly closed: Promise<string>;

  constructor(
    readonly peer: ChannelPeer,
    private readonly options: TestOperatorOptions = {},
  ) {
    this.granter = new CreditGranter((bytes) => peer.send({ $case: 'window', window: { bytes } }), options.windowBytes ?? DEFAULT_WINDOW_BYTES);
    this.sender = new CreditSender((chunk) => peer.send({ $case: 'data', data: chunk }));
    this.closed = new Promise((resolve) => peer.onClose((reason) => {
      this.closedWith = reason;
      this.notify();
      resolve(reason);
    }));
    peer.onFrame((frame) => {
      this.frames.push(frame);
      if (frame.$case === 'data') {
        this.granter.received(frame.data.byteLength);
        this.received += frame.data.byteLength;
        if (this.text.length < 1_000_000) this.text += Buffer.from(frame.data).toString('utf8');
        if (this.received <= 64 * 1024 * 1024) this.chunks.push(Buffer.from(frame.data));
        if (this.options.keepGranting !== false) this.granter.consumed(frame.data.byteLength);
      } else if (frame.$case === 'stderr') {
        this.granter.received(frame.stderr.byteLength);
        this.received += frame.stderr.byteLength;
        this.stderr += Buffer.from(frame.stderr).toString('utf8');
        if (this.options.keepGranting !== false) this.granter.consumed(frame.stderr.byteLength);
      } else if (frame.$case === 'window') this.sender.grant(frame.window.bytes);
      this.notify();
    });
    this.granter.start();
  }

  /** Output so far (decoded as UTF-8; first MB only). */
  get output(): string {
    return this.text;
  }

  /** Data bytes received so far (first 64 MiB). */
  data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Sends data within the device's credit. */
  write(data: string | Uint8Array): void {
    this.sender.write(typeof data === 'string' ? Buffer.from(data) : data);
  }

  drained(): Promise<void> {
    return this.sender.drained();
  }

  send(frame: ChannelFrame): void {
    this.peer.send(frame);
  }

  /** Grants more credit by hand (for a reader that had stopped). */
  grant(bytes: number): void {
    this.granter.extend(bytes);
  }

  /** Waits until `pred` holds (checked on every frame and on close), or fails after `ms`. */
  async until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; output so far: ${JSON.stringify(this.text.slice(-500))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  frameOf<C extends ChannelFrame['$case']>(c: C): Extract<ChannelFrame, { $case: C }> | undefined {
    return this.frames.find((f) => f.$case === c) as Extract<ChannelFrame, { $case: C }> | undefined;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
