import { makeGenericClientConstructor, type Client, type ClientDuplexStream, type Metadata } from '@grpc/grpc-js';
import { decodeConsoleChannelResponse, encodeConsoleChannelRequest } from '../../proto/channel-frame-codec';
import { ConsoleServiceService, type ConsoleChannelRequest, type ConsoleChannelResponse } from '../../proto/gen/fleet/v1/console';

// ConsoleService.Channel with the shared one-copy codec for data frames
// (proto/channel-frame-codec.ts): a payload fleetctl sends is copied once
// before grpc-js's own copy, and one it receives is a view of grpc-js's
// message buffer. The client shares the HTTP/2 connection of the console
// client it is made from.

/** The Channel method as fleetctl calls it. */
export const CONSOLE_CHANNEL_METHOD = {
  ...ConsoleServiceService.channel,
  requestSerialize: encodeConsoleChannelRequest,
  responseDeserialize: decodeConsoleChannelResponse,
};

type ChannelMethod = (metadata: Metadata) => ClientDuplexStream<ConsoleChannelRequest, ConsoleChannelResponse>;

const ChannelClient = makeGenericClientConstructor({ channel: CONSOLE_CHANNEL_METHOD }, 'fleet.v1.ConsoleService');

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
