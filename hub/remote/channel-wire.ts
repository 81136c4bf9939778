import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { ServerStreamCall, StreamMethod } from '../../proto/stream-server-call';
import { encodeChannelFrame, peekChannelFrame, peekConsoleChannelRequest, wrapFrame, wrapperPrefixLength, writeWrapperPrefix, type PeekedConsoleRequest, type PeekedFrame } from '../../proto/channel-frame-codec';
import type { ChannelFrame } from '../../proto/gen/fleet/v1/channel';
import { ConsoleChannelResponse, ConsoleServiceService, type ConsoleChannelRequest } from '../../proto/gen/fleet/v1/console';
import { DeviceServiceService } from '../../proto/gen/fleet/v1/device';

// The two Channel methods as the hub serves them (hub.ts registers these in
// place of the generated ones). Frames arrive peeked, not decoded
// (proto/channel-frame-codec.ts): the relay learns each frame's case and
// data length, and passes data frames on as the bytes it received, so a
// relayed payload is copied only by grpc-js (into its own message frame).
// The hub's own messages (started, its error and close frames) are objects
// encoded by the generated code.

/** What the relay writes: the serialized ChannelFrame the other side sent (passed on unchanged), or a frame the hub makes. */
export type FrameOut = Buffer | ChannelFrame;

export type ConsoleChannelCall = ServerDuplexStream<PeekedConsoleRequest, ConsoleChannelResponse | Buffer>;
export type DeviceChannelCall = ServerDuplexStream<PeekedFrame, FrameOut>;

/** grpc-js's 5-byte message header: compressed flag, length (big endian). */
const GRPC_HEADER_BYTES = 5;

export const HUB_DEVICE_CHANNEL_METHOD = {
  ...DeviceServiceService.channel,
  requestDeserialize: peekChannelFrame,
  responseSerialize: (value: FrameOut): Buffer => (Buffer.isBuffer(value) ? value : encodeChannelFrame(value)),
};

export const HUB_CONSOLE_CHANNEL_METHOD = {
  ...ConsoleServiceService.channel,
  requestDeserialize: peekConsoleChannelRequest,
  responseSerialize: (value: ConsoleChannelResponse | Buffer): Buffer => (Buffer.isBuffer(value) ? wrapDeviceFrame(value) : Buffer.from(ConsoleChannelResponse.encode(value).finish())),
};

/**
 * ConsoleChannelResponse{frame} around a frame the device sent. grpc-js
 * hands the hub each message as the part after its 5-byte header of a buffer
 * it allocated for that message alone (stream-decoder.ts: Buffer.concat per
 * message; server-interceptors.ts: subarray(5)); that header, already read,
 * has room for the wrapper's (at most 4 bytes for the 1 MiB messages the hub
 * accepts), so the response is written in place, without a copy. Only when
 * the bytes in front are exactly this message's header (flag 0, its length)
 * — anything else (another grpc-js, a frame re-encoded by the hub) gets a
 * copy.
 */
export function wrapDeviceFrame(frame: Buffer): Buffer {
  const prefix = wrapperPrefixLength(frame.length);
  if (prefix > GRPC_HEADER_BYTES || frame.byteOffset < GRPC_HEADER_BYTES) return wrapFrame(frame);
  const header = Buffer.from(frame.buffer, frame.byteOffset - GRPC_HEADER_BYTES, GRPC_HEADER_BYTES);
  if (header[0] !== 0 || header.readUInt32BE(1) !== frame.length) return wrapFrame(frame);
  const out = Buffer.from(frame.buffer, frame.byteOffset - prefix, prefix + frame.length);
  writeWrapperPrefix(out, prefix, frame.length);
  return out;
}

/** The hub registers Channel with the methods above; the generated service types still name the decoded messages. */
export function asConsoleChannelCall(call: ServerDuplexStream<ConsoleChannelRequest, ConsoleChannelResponse>): ConsoleChannelCall {
  return call as unknown as ConsoleChannelCall;
}

export function asDeviceChannelCall(call: ServerDuplexStream<ChannelFrame, ChannelFrame>): DeviceChannelCall {
  return call as unknown as DeviceChannelCall;
}

/**
 * The same two methods on the bare stream (proto/stream-wire.ts, ALPN
 * fleet-stream/1), the data plane devices and fleetctl use: the same
 * handlers, given a call shaped like grpc-js's.
 */
export function channelStreamMethods(
  device: (call: ServerDuplexStream<ChannelFrame, ChannelFrame>) => void,
  console: (call: ServerDuplexStream<ConsoleChannelRequest, ConsoleChannelResponse>) => void,
): ReadonlyMap<string, StreamMethod> {
  const asGrpc = <T>(call: ServerStreamCall): T => call as unknown as T;
  return new Map<string, StreamMethod>([
    [HUB_DEVICE_CHANNEL_METHOD.path, { deserialize: HUB_DEVICE_CHANNEL_METHOD.requestDeserialize, serialize: (v) => HUB_DEVICE_CHANNEL_METHOD.responseSerialize(v as FrameOut), handle: (call) => device(asGrpc(call)) }],
    [HUB_CONSOLE_CHANNEL_METHOD.path, { deserialize: HUB_CONSOLE_CHANNEL_METHOD.requestDeserialize, serialize: (v) => HUB_CONSOLE_CHANNEL_METHOD.responseSerialize(v as ConsoleChannelResponse | Buffer), handle: (call) => console(asGrpc(call)) }],
  ]);
}
