import type { ChannelFrame as ProtoChannelFrame } from '../../proto/gen/fleet/v1/channel';
import type { ChannelFrame } from '../remote/channel-frame';

// Agent frames ↔ proto frames. Both are ts-proto's oneof-union shape with the
// same cases and fields (channel.proto was written from channel-frame.ts), so
// the mapping is 1:1: the proto side wraps the union in `frame`, carries
// bytes as Buffer, and types error codes and entry types as plain strings
// (the agent's narrower types are what the agent sends; what it receives is
// read by sessions that refuse unexpected values themselves).

export function frameToProto(frame: ChannelFrame): ProtoChannelFrame {
  if (frame.$case === 'data') return { frame: { $case: 'data', data: asBuffer(frame.data) } };
  if (frame.$case === 'stderr') return { frame: { $case: 'stderr', stderr: asBuffer(frame.stderr) } };
  return { frame };
}

/** undefined for a frame with no case set (a newer peer's frame kind, or an empty message). */
export function frameFromProto(message: ProtoChannelFrame): ChannelFrame | undefined {
  return (message.frame ?? undefined) as ChannelFrame | undefined;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
