import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { PeekedConsoleRequest, PeekedFrame } from '../../proto/channel-frame-codec';
import type { ConsoleChannelCall, DeviceChannelCall, FrameOut } from './channel-wire';

export type { ConsoleChannelCall, DeviceChannelCall } from './channel-wire';

/** How a call stopped without a close frame. */
export type GoneHow = 'ended' | 'cancelled';

/**
 * One side of a relay, whatever the message wrapping: frames in (peeked,
 * not decoded) and out, pause/resume of reading (grpc-js then stops reading
 * the HTTP/2 stream, so the sender is held by HTTP/2 flow control) and
 * grpc-js write backpressure.
 */
export interface RelayEnd {
  /** false: grpc-js buffers more than its high-water mark; wait for drain before more. */
  write(frame: FrameOut): boolean;
  onceDrain(listener: () => void): void;
  pause(): void;
  resume(): void;
  /** Starts delivering frames (and 'gone') to the relay. */
  listen(onFrame: (frame: PeekedFrame) => void, onGone: (how: GoneHow) => void, onBadMessage: (what: string) => void): void;
  /** Ends the call with OK once what was written is flushed. */
  finish(): void;
  readonly cancelled: boolean;
}

function listenCall<M>(
  call: ServerDuplexStream<M, unknown>,
  toFrame: (m: M) => PeekedFrame | string,
  onFrame: (frame: PeekedFrame) => void,
  onGone: (how: GoneHow) => void,
  onBadMessage: (what: string) => void,
): void {
  call.on('data', (m: M) => {
    const frame = toFrame(m);
    if (typeof frame === 'string') onBadMessage(frame);
    else onFrame(frame);
  });
  call.on('end', () => onGone('ended'));
  call.on('cancelled', () => onGone('cancelled'));
  // A failed write or a broken stream; grpc-js reports the details as the call's status.
  call.on('error', () => onGone('cancelled'));
}

function finishCall(call: ServerDuplexStream<unknown, unknown>): void {
  if (call.cancelled || call.writableEnded || call.destroyed) return;
  call.end();
}

function consoleFrame(m: PeekedConsoleRequest): PeekedFrame | string {
  return m.$case === 'frame' ? m.frame : `the console sent ${m.$case ?? 'an empty message'} where only frames may follow start`;
}

export function consoleEnd(call: ConsoleChannelCall): RelayEnd {
  return {
    // A received frame (Buffer) is wrapped by the Channel method's serializer (channel-wire.ts).
    write: (frame) => call.write(Buffer.isBuffer(frame) ? frame : { msg: { $case: 'frame', frame } }),
    onceDrain: (listener) => call.once('drain', listener),
    pause: () => call.pause(),
    resume: () => call.resume(),
    listen: (onFrame, onGone, onBad) => listenCall(call, consoleFrame, onFrame, onGone, onBad),
    finish: () => finishCall(call),
    get cancelled() {
      return call.cancelled;
    },
  };
}

export function deviceEnd(call: DeviceChannelCall): RelayEnd {
  return {
    write: (frame) => call.write(frame),
    onceDrain: (listener) => call.once('drain', listener),
    pause: () => call.pause(),
    resume: () => call.resume(),
    listen: (onFrame, onGone, onBad) => listenCall(call, (frame) => frame, onFrame, onGone, onBad),
    finish: () => finishCall(call),
    get cancelled() {
      return call.cancelled;
    },
  };
}
