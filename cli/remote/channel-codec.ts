import { makeGenericClientConstructor, type Client, type ClientDuplexStream, type Metadata } from '@grpc/grpc-js';
import { ConsoleChannelRequest, ConsoleServiceService, type ConsoleChannelResponse } from '../../proto/gen/fleet/v1/console';

// ConsoleService.Channel with a hand-written encoder for data frames, the
// bulk of every transfer. The generated serializer copies each payload twice
// (ts-proto's BinaryWriter.finish, then Buffer.from) before grpc-js copies it
// a third time behind its length prefix; here the payload is copied once,
// straight after its field headers. Other messages use the generated code.
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

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

type ChannelMethod = (metadata: Metadata) => ClientDuplexStream<ConsoleChannelRequest, ConsoleChannelResponse>;

const ChannelClient = makeGenericClientConstructor({ channel: { ...ConsoleServiceService.channel, requestSerialize: encodeChannelRequest } }, 'fleet.v1.ConsoleService');

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
