import type { ServiceError } from '@grpc/grpc-js';
import type { ChannelFrame as ProtoChannelFrame } from '../../proto/gen/fleet/v1/channel';
import type { DuplexCall } from '../../proto/stream-client-call';
import { describeError } from '../device-client';
import type { ChannelFrame, ChannelPeer } from '../remote/channel-frame';
import { frameFromProto, frameToProto } from './channel-frame-codec';

// The device's end of a DeviceService.Channel call (on the bare stream,
// proto/stream-wire.ts, or gRPC), as the ChannelPeer a
// session talks to. Frames map 1:1; `close(reason)` is a close frame and the
// end of our half of the call; the hub's close frame, its end of the call or
// a broken call all end the peer (onClose, once), so a dropped console ends
// the session behind it. Writes ignore gRPC's buffer level: credit (window
// frames) already bounds the data in flight, and the frames that are not
// data are small and few.

/** How long after our close the hub gets to end its half before the call is cancelled. */
const CLOSE_GRACE_MS = 5_000;

export class GrpcChannelPeer implements ChannelPeer {
  closed = false;
  private ended = false;
  private readonly frameListeners = new Set<(frame: ChannelFrame) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  /** Frames that arrived before the session subscribed (it subscribes after its async setup). */
  private held: ChannelFrame[] = [];
  /** The hub's close while frames are still held: delivered after them. */
  private heldClose: string | undefined;
  private callDone = false;
  private endReason = '';

  constructor(
    private readonly call: DuplexCall<ProtoChannelFrame, ProtoChannelFrame>,
    private readonly log?: (line: string) => void,
  ) {
    call.on('data', (message: ProtoChannelFrame) => this.receive(message));
    call.on('end', () => this.remoteEnded('the hub ended the channel'));
    call.on('error', (err: ServiceError) => this.remoteEnded(`channel call failed (${describeError(err)})`));
    call.on('status', () => (this.callDone = true));
  }

  send(frame: ChannelFrame): void {
    if (this.closed) return;
    this.call.write(frameToProto(frame));
  }

  onFrame(listener: (frame: ChannelFrame) => void): () => void {
    this.frameListeners.add(listener);
    if (this.held.length > 0) setImmediate(() => this.drainHeld());
    return () => this.frameListeners.delete(listener);
  }

  onClose(listener: (reason: string) => void): () => void {
    // A session that subscribes after its async setup must still learn that
    // the console went away meanwhile, or it would wait for credit forever.
    if (this.ended) {
      let off = false;
      setImmediate(() => off || listener(this.endReason));
      return () => (off = true);
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.call.write(frameToProto({ $case: 'close', close: { reason } }));
    this.call.end();
    // The hub ends its half on our close frame; one that does not must not keep the call open.
    const cancel = setTimeout(() => {
      if (!this.callDone) this.call.cancel();
    }, CLOSE_GRACE_MS);
    cancel.unref();
    this.finish(reason);
  }

  private receive(message: ProtoChannelFrame): void {
    if (this.ended) return;
    const frame = frameFromProto(message);
    if (!frame) {
      this.log?.('channel: ignored a frame of a kind this agent does not know');
      return;
    }
    if (frame.$case === 'close') return this.remoteEnded(frame.close.reason || 'the operator closed the channel');
    if (this.frameListeners.size === 0 || this.held.length > 0) this.held.push(frame);
    else for (const l of [...this.frameListeners]) l(frame);
  }

  private drainHeld(): void {
    while (this.held.length > 0 && this.frameListeners.size > 0 && !this.ended) {
      const frame = this.held.shift()!;
      for (const l of [...this.frameListeners]) l(frame);
    }
    if (this.held.length === 0 && this.heldClose !== undefined) this.remoteEnded(this.heldClose);
  }

  /** The hub's side is over (close frame, end of the call, or a failure). */
  private remoteEnded(reason: string): void {
    if (this.ended) return;
    if (this.held.length > 0 && this.frameListeners.size === 0) {
      this.heldClose ??= reason;
      return;
    }
    if (this.held.length > 0) {
      this.heldClose ??= reason;
      return this.drainHeld();
    }
    this.closed = true;
    // Our half ends too (a no-op if it already has).
    if (!this.callDone) this.call.end();
    this.finish(reason);
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    this.held = [];
    for (const l of [...this.closeListeners]) l(reason);
    this.frameListeners.clear();
    this.closeListeners.clear();
  }
}
