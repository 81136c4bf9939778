import type { PeekedFrame } from '../../proto/channel-frame-codec';
import type { ChannelError } from '../../proto/gen/fleet/v1/channel';
import { CreditLedger, other, type Side } from './credit-ledger';
import type { GoneHow, RelayEnd } from './relay-end';

export interface RelayResult {
  /** Why the session ended, for people: `exit 0`, `console closed (done)`, `device-offline: ...`. */
  reason: string;
  bytesToDevice: number;
  bytesFromDevice: number;
}

/** Sees every frame the relay passes on (recording). */
export type FrameObserver = (from: Side, frame: PeekedFrame) => void;

// Relays one paired channel: console call <-> device call. Frames pass
// unchanged — as the bytes received: data/stderr frames are never decoded,
// only their length is read (channel-wire.ts) — and data/stderr are checked
// against the credit the other side granted. Nothing here buffers: when grpc-js's write buffer towards one side
// is full, reading from the other side stops until it drains (grpc-js then
// stops reading that HTTP/2 stream and HTTP/2 flow control holds the sender).
// So per channel the hub holds at most grpc-js's high-water mark of frames
// per direction plus HTTP/2 windows, whatever the credit.
export class ChannelRelay {
  readonly done: Promise<RelayResult>;
  bytesToDevice = 0;
  bytesFromDevice = 0;
  private ended = false;
  private exitStatus: string | undefined;
  private lastError: string | undefined;
  private readonly ledger = new CreditLedger();
  private readonly ends: Record<Side, RelayEnd>;
  private readonly paused: Record<Side, boolean> = { console: false, device: false };
  private resolveDone!: (result: RelayResult) => void;

  constructor(
    consoleEnd: RelayEnd,
    deviceEnd: RelayEnd,
    private readonly observe: FrameObserver = () => {},
  ) {
    this.ends = { console: consoleEnd, device: deviceEnd };
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts relaying; frames either side sent before are delivered in order. */
  start(): void {
    for (const side of ['console', 'device'] as const) {
      this.ends[side].listen(
        (frame) => this.onFrame(side, frame),
        (how) => this.onGone(side, how),
        (what) => this.violation(side, what),
      );
    }
    for (const side of ['console', 'device'] as const) {
      if (this.ends[side].cancelled) return this.onGone(side, 'cancelled');
    }
    this.ends.console.resume();
    this.ends.device.resume();
  }

  /** Ends the channel from the hub (CloseSession, device rejected, hub stopping): both sides get [error] + close. */
  close(reason: string, error?: ChannelError): void {
    if (this.ended) return;
    for (const side of ['console', 'device'] as const) this.sendEnd(side, reason, error);
    this.finish(error ? `${error.code}: ${error.message}` : reason);
  }

  private onFrame(from: Side, frame: PeekedFrame): void {
    if (this.ended) return;
    switch (frame.case) {
      case undefined:
        return;
      case 'data':
      case 'stderr': {
        const n = frame.payload!.length;
        if (!this.ledger.spend(from, n)) {
          return this.violation(from, `sent ${n} bytes of data with ${this.ledger.available(from)} bytes of credit left: send data only within the window the other side granted`);
        }
        if (from === 'console') this.bytesToDevice += n;
        else this.bytesFromDevice += n;
        break;
      }
      default: {
        const f = frame.frame!.frame!;
        if (f.$case === 'window') this.ledger.granted(from, f.window.bytes);
        else if (f.$case === 'exit') this.exitStatus = f.exit.signal ? `killed by ${f.exit.signal}` : `exit ${f.exit.code}`;
        else if (f.$case === 'error') this.lastError = `${f.error.code}: ${f.error.message}`;
        else if (f.$case === 'close') {
          this.forward(from, frame);
          return this.finish(this.exitStatus ?? this.lastError ?? `${from} closed (${f.close.reason})`);
        }
      }
    }
    this.observe(from, frame);
    this.forward(from, frame);
  }

  /** Writes to the other side; a full write buffer stops reading from `from` until it drains. */
  private forward(from: Side, frame: PeekedFrame): void {
    const to = other(from);
    if (this.ends[to].write(frame.bytes) || this.paused[from]) return;
    this.paused[from] = true;
    this.ends[from].pause();
    this.ends[to].onceDrain(() => {
      this.paused[from] = false;
      if (!this.ended) this.ends[from].resume();
    });
  }

  /**
   * `side`'s call ended without a close frame. grpc-js reports a cancelled
   * client as a half-close first and a cancel only later, so both mean the
   * same here: that side is gone.
   */
  private onGone(side: Side, how: GoneHow): void {
    if (this.ended) return;
    const cut = how === 'cancelled' ? 'was cut' : 'ended without a close frame';
    if (side === 'device') {
      this.sendEnd('console', 'the device went away', { code: 'device-offline', message: `the device's channel ${cut}: the session is over` });
      this.finish(this.exitStatus ?? `device-offline: the device's channel ${cut}`);
    } else {
      this.sendEnd('device', 'the console went away');
      this.finish(this.exitStatus ?? `the console went away (its call ${cut})`);
    }
  }

  /** `side` broke the protocol: both sides get a `protocol` error and close. */
  private violation(side: Side, what: string): void {
    if (this.ended) return;
    const message = `the ${side} ${what}`;
    this.sendEnd(side, 'protocol error', { code: 'protocol', message });
    this.sendEnd(other(side), 'protocol error', { code: 'protocol', message: `the ${side} broke the channel protocol: ${what}` });
    this.finish(`protocol: ${message}`);
  }

  private sendEnd(side: Side, reason: string, error?: ChannelError): void {
    if (this.ends[side].cancelled) return;
    if (error) this.ends[side].write({ frame: { $case: 'error', error } });
    this.ends[side].write({ frame: { $case: 'close', close: { reason } } });
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.ends.console.finish();
    this.ends.device.finish();
    this.resolveDone({ reason, bytesToDevice: this.bytesToDevice, bytesFromDevice: this.bytesFromDevice });
  }
}
