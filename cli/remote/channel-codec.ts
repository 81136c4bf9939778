import { makeGenericClientConstructor, type Client, type ClientDuplexStream, type Metadata } from '@grpc/grpc-js';
import { ConsoleChannelRequest, ConsoleChannelResponse, ConsoleServiceService } from '../../proto/gen/fleet/v1/console';
import { readVarint, varintLength, writeVarint } from '../../proto/varint';

// ConsoleService.Channel with hand-written coding of data frames, the bulk
// of every transfer. The generated serializer copies each payload twice
// (ts-proto's BinaryWriter.finish, then Buffer.from) before grpc-js copies it
// a third time behind its length prefix; here the payload is copied once,
// straight after its field headers. The generated decoder copies each
// payload out of the message; here it is a view of grpc-js's message buffer
// (which grpc-js allocates per message and never reuses). Every other
// message goes through the generated code.
// The client shares the HTTP/2 connection of the console client it is made from.

/** ConsoleChannelRequest{frame (2): ChannelFrame{data (1): bytes}}: tags 0x12 and 0x0a. */
export function encodeChannelRequest(value: ConsoleChannelRequest): Buffer {
  const msg = value.msg;
  if (msg?.$case !== 'frame' || msg.frame.frame?.$case !== 'data') return Buffer.from(ConsoleChannelRequest.encode(value).finish());
  const data = msg.frame.frame.data;
  const innerLength = 1 + varintLength(data.byteLength) + data.byteLength;
  const out = Buffer.allocUnsafe(1 + varintLength(innerLength) + innerLength);
  let at = 0;
  out[at++] = 0x12;
  at = writeVarint(out, at, innerLength);
  out[at++] = 0x0a;
  at = writeVarint(out, at, data.byteLength);
  out.set(data, at);
  return out;
}

/** The inverse for ConsoleChannelResponse{frame (2): ChannelFrame{data (1)}}; anything else is decoded by the generated code. */
export function decodeChannelResponse(buf: Buffer): ConsoleChannelResponse {
  if (buf[0] === 0x12) {
    const outer = readVarint(buf, 1);
    if (outer && outer.at + outer.value === buf.length && buf[outer.at] === 0x0a) {
      const inner = readVarint(buf, outer.at + 1);
      if (inner && inner.at + inner.value === buf.length) return { msg: { $case: 'frame', frame: { frame: { $case: 'data', data: buf.subarray(inner.at) } } } };
    }
  }
  return ConsoleChannelResponse.decode(buf);
}

type ChannelMethod = (metadata: Metadata) => ClientDuplexStream<ConsoleChannelRequest, ConsoleChannelResponse>;

const ChannelClient = makeGenericClientConstructor(
  { channel: { ...ConsoleServiceService.channel, requestSerialize: encodeChannelRequest, responseDeserialize: decodeChannelResponse } },
  'fleet.v1.ConsoleService',
);

const clients = new WeakMap<Client, { channel: ChannelMethod }>();

/** A client for Channel only, on the same connection as `client` (one per client). */
export function channelClient(client: Client): { channel: ChannelMethod } {
  let made = clients.get(client);
  if (!made) {
    made = new ChannelClient('unused', null as never, { channelOverride: client.getChannel() }) as unknown as { channel: ChannelMethod };
    clients.set(client, made);
  }
  return made;
}
