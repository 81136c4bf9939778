import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { ChannelFrame } from '../../proto/gen/fleet/v1/channel';
import { authenticateDevice } from '../device/device-auth';
import { RpcError } from '../rpc-error';
import { asDeviceChannelCall } from './channel-wire';
import type { RemoteHub } from './remote-hub';

export const CHANNEL_ID_HEADER = 'fleet-channel-id';

// DeviceService.Channel: the device dials back a channel it accepted. The
// call waits (unread) until the relay starts; an unknown, expired or other
// device's channel id ends it with NOT_FOUND.
export async function serveDeviceChannel(hub: RemoteHub, grpcCall: ServerDuplexStream<ChannelFrame, ChannelFrame>): Promise<void> {
  const call = asDeviceChannelCall(grpcCall);
  const device = await authenticateDevice(hub.store, call.metadata);
  const channelId = call.metadata.get(CHANNEL_ID_HEADER)[0];
  if (typeof channelId !== 'string' || !channelId) {
    throw new RpcError(status.INVALID_ARGUMENT, `no ${CHANNEL_ID_HEADER} metadata: send the channel_id of the ChannelRequest being answered`);
  }
  if (call.cancelled) return;
  if (!hub.pending.dialed(channelId, device.id, call)) {
    throw new RpcError(status.NOT_FOUND, `channel ${channelId} is unknown, expired or not this device's: it was given up (the console left, or the ${hub.options.openTimeoutMs / 1000} s to dial passed)`);
  }
}
