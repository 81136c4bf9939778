import { ChannelFrame } from './gen/fleet/v1/channel';
import { ConsoleChannelRequest, ConsoleChannelResponse, type ChannelStart } from './gen/fleet/v1/console';
import { messagePool, POOLED_MIN_BYTES } from './buffer-pool';
import { readVarint, varintLength, writeVarint } from './varint';

// Channel frames on the wire without the generated code's copies, for the
// bulk of every file transfer, tunnel and shell: data and stderr frames.
// The generated serializer copies each payload three times (BinaryWriter's
// chunks, finish(), Buffer.from) before grpc-js copies it behind its length
// prefix; the generated decoder copies it out of the message. Here a payload
// is copied once when a frame is made (straight after its field headers),
// never when one is read (a view of grpc-js's message buffer, which grpc-js
// allocates per message and never reuses), and a relay can pass a frame on
// as the bytes it received. Every other frame (window, resize, exit, close,
// error, file, eof, listing: few and small) goes through the generated code.
//
// Wire facts used: ChannelFrame{data = 1, stderr = 2: bytes} and
// ConsoleChannelRequest / ConsoleChannelResponse{frame = 2: ChannelFrame}.
// Anything not in exactly that form (unknown fields, repeated fields, a
// newer peer) is left to the generated code, so the result is always what
// it would decode.

export type ChannelFrameCase = NonNullable<ChannelFrame['frame']>['$case'];
export type PayloadCase = 'data' | 'stderr';

/** A serialized ChannelFrame as a relay needs it: what it is and how many bytes of credit it spends, without decoding data. */
export interface PeekedFrame {
  /** The serialized ChannelFrame, as received (a view, not a copy): forward these bytes. */
  readonly bytes: Buffer;
  /** undefined: an empty frame, or a case this code does not know (a newer peer's). */
  readonly case: ChannelFrameCase | undefined;
  /** data / stderr: the payload, a view of `bytes`; undefined for other cases. */
  readonly payload: Buffer | undefined;
  /** The decoded frame for every case but data / stderr (those are not decoded, except in an unusual encoding). */
  readonly frame: ChannelFrame | undefined;
}

/** ConsoleChannelRequest as the hub reads it: `start` decoded, a frame peeked. */
export type PeekedConsoleRequest =
  | { $case: 'start'; start: ChannelStart }
  | { $case: 'frame'; frame: PeekedFrame }
  | { $case: undefined };

const DATA_TAG = 0x0a; // ChannelFrame.data: field 1, length-delimited
const STDERR_TAG = 0x12; // ChannelFrame.stderr: field 2
const WRAPPER_FRAME_TAG = 0x12; // ConsoleChannelRequest/Response.frame: field 2

/** The serialized ChannelFrame{data | stderr: payload}, the same bytes as the generated encoder's; the payload is copied once. */
export function encodePayloadFrame(kind: PayloadCase, payload: Uint8Array): Buffer {
  const out = frameBuffer(payloadFrameLength(payload.byteLength));
  writePayloadFrame(out, 0, kind, payload);
  return out;
}

/** A serialized ChannelFrame: data / stderr by encodePayloadFrame, the rest by the generated code. */
export function encodeChannelFrame(frame: ChannelFrame): Buffer {
  const f = frame.frame;
  if (f?.$case === 'data') return encodePayloadFrame('data', f.data);
  if (f?.$case === 'stderr') return encodePayloadFrame('stderr', f.stderr);
  return Buffer.from(ChannelFrame.encode(frame).finish());
}

/** The ChannelFrame in `bytes`; a data / stderr payload is a view of `bytes`, not a copy. */
export function decodeChannelFrame(bytes: Buffer): ChannelFrame {
  const peeked = peekChannelFrame(bytes);
  if (peeked.frame) return peeked.frame;
  if (peeked.case === 'data') return { frame: { $case: 'data', data: peeked.payload! } };
  if (peeked.case === 'stderr') return { frame: { $case: 'stderr', stderr: peeked.payload! } };
  return { frame: undefined };
}

/**
 * What the serialized ChannelFrame in `bytes` is. A data / stderr frame in
 * the usual form (that one field, nothing else) is not decoded: its payload
 * is a view. Anything else is decoded by the generated code (which throws
 * on a malformed frame).
 */
export function peekChannelFrame(bytes: Buffer): PeekedFrame {
  const tag = bytes[0];
  if (tag === DATA_TAG || tag === STDERR_TAG) {
    const len = readVarint(bytes, 1);
    if (len && len.at + len.value === bytes.length) {
      return { bytes, case: tag === DATA_TAG ? 'data' : 'stderr', payload: bytes.subarray(len.at), frame: undefined };
    }
  }
  const frame = ChannelFrame.decode(bytes);
  const f = frame.frame;
  const payload = f?.$case === 'data' ? f.data : f?.$case === 'stderr' ? f.stderr : undefined;
  return { bytes, case: f?.$case, payload, frame };
}

/** The ChannelFrame bytes of a ConsoleChannelRequest / Response that holds just `frame` (a view); undefined for any other message. */
export function unwrapFrame(message: Buffer): Buffer | undefined {
  if (message[0] !== WRAPPER_FRAME_TAG) return undefined;
  const len = readVarint(message, 1);
  return len && len.at + len.value === message.length ? message.subarray(len.at) : undefined;
}

/** Bytes of the ConsoleChannelRequest / Response {frame} header in front of a serialized ChannelFrame of `frameLength` bytes. */
export function wrapperPrefixLength(frameLength: number): number {
  return 1 + varintLength(frameLength);
}

/** Writes that header into `buf` so that it ends at `end` (where the frame starts); returns where it starts. */
export function writeWrapperPrefix(buf: Buffer, end: number, frameLength: number): number {
  const start = end - wrapperPrefixLength(frameLength);
  buf[start] = WRAPPER_FRAME_TAG;
  writeVarint(buf, start + 1, frameLength);
  return start;
}

/** ConsoleChannelRequest / Response {frame: the serialized ChannelFrame `frame`}: one copy of it behind the header. */
export function wrapFrame(frame: Uint8Array): Buffer {
  const prefix = wrapperPrefixLength(frame.byteLength);
  const out = Buffer.allocUnsafe(prefix + frame.byteLength);
  writeWrapperPrefix(out, prefix, frame.byteLength);
  out.set(frame, prefix);
  return out;
}

/** ConsoleChannelRequest / Response {frame: {data | stderr: payload}} in one buffer: the payload is copied once. */
export function encodeWrappedPayloadFrame(kind: PayloadCase, payload: Uint8Array): Buffer {
  const frameLength = payloadFrameLength(payload.byteLength);
  const prefix = wrapperPrefixLength(frameLength);
  const out = frameBuffer(prefix + frameLength);
  writeWrapperPrefix(out, prefix, frameLength);
  writePayloadFrame(out, prefix, kind, payload);
  return out;
}

/** fleetctl / console side: a ConsoleChannelRequest, data / stderr frames with one copy of the payload. */
export function encodeConsoleChannelRequest(value: ConsoleChannelRequest): Buffer {
  const f = value.msg?.$case === 'frame' ? value.msg.frame.frame : undefined;
  if (f?.$case === 'data') return encodeWrappedPayloadFrame('data', f.data);
  if (f?.$case === 'stderr') return encodeWrappedPayloadFrame('stderr', f.stderr);
  return Buffer.from(ConsoleChannelRequest.encode(value).finish());
}

/** fleetctl / console side: a ConsoleChannelResponse; a data / stderr payload is a view of `message`. */
export function decodeConsoleChannelResponse(message: Buffer): ConsoleChannelResponse {
  const frame = unwrapFrame(message);
  if (frame) return { msg: { $case: 'frame', frame: decodeChannelFrame(frame) } };
  return ConsoleChannelResponse.decode(message);
}

/** Hub side: a ConsoleChannelRequest with its frame peeked, not decoded (see peekChannelFrame). */
export function peekConsoleChannelRequest(message: Buffer): PeekedConsoleRequest {
  const frame = unwrapFrame(message);
  if (frame) return { $case: 'frame', frame: peekChannelFrame(frame) };
  const msg = ConsoleChannelRequest.decode(message).msg;
  if (msg?.$case === 'start') return msg;
  // A frame in an unusual encoding: re-encoded once so that what is forwarded is exactly what was decoded.
  if (msg?.$case === 'frame') return { $case: 'frame', frame: peekChannelFrame(Buffer.from(ChannelFrame.encode(msg.frame).finish())) };
  return { $case: undefined };
}

/**
 * Where an encoded data frame goes: big ones in a message pool buffer (the
 * stream call that sends it gives it back, stream-wire.ts writeMessage; a
 * gRPC call copies it, and it is collected).
 */
function frameBuffer(bytes: number): Buffer {
  return bytes >= POOLED_MIN_BYTES ? messagePool.take(bytes) : Buffer.allocUnsafe(bytes);
}

function payloadFrameLength(payloadLength: number): number {
  return 1 + varintLength(payloadLength) + payloadLength;
}

function writePayloadFrame(out: Buffer, at: number, kind: PayloadCase, payload: Uint8Array): void {
  out[at++] = kind === 'data' ? DATA_TAG : STDERR_TAG;
  at = writeVarint(out, at, payload.byteLength);
  out.set(payload, at);
}
