import { makeGenericClientConstructor, type Client, type ClientDuplexStream, type Metadata } from '@grpc/grpc-js';
import { decodeChannelFrame, encodeChannelFrame } from '../../proto/channel-frame-codec';
import type { ChannelFrame } from '../../proto/gen/fleet/v1/channel';
import { DeviceServiceService } from '../../proto/gen/fleet/v1/device';

// DeviceService.Channel with the shared one-copy codec for data frames
// (proto/channel-frame-codec.ts): a payload the device sends (file bytes,
// tunnel bytes, shell output) is copied once before grpc-js's own copy, and
// one it receives is a view of grpc-js's message buffer instead of a copy.
// The client shares the HTTP/2 connection of the device client it is made from.

/** The Channel method as the agent calls it. */
export const DEVICE_CHANNEL_METHOD = {
  ...DeviceServiceService.channel,
  requestSerialize: encodeChannelFrame,
  responseDeserialize: decodeChannelFrame,
};

type ChannelMethod = (metadata?: Metadata) => ClientDuplexStream<ChannelFrame, ChannelFrame>;

const ChannelClient = makeGenericClientConstructor({ channel: DEVICE_CHANNEL_METHOD }, 'fleet.v1.DeviceService');

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
