import type { ChannelOpen } from '../../proto/gen/fleet/v1/channel';
import type { ChannelStarted, ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import type { ChannelRequest, DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { dialDeviceChannel, openConsoleChannel, shellOpen, type ConsoleChannel, type DeviceChannel } from './channel-clients';
import type { ControlStream } from './control-stream';
import { acceptedDevice, nextCommand, online, type TestDevice } from './fleet-fixtures';
import type { TestHub } from './test-hub';

// Remote-session fixtures: a connected device played by the test, and a
// console channel paired with the device's dialled-back channel.

export interface Clients {
  t: TestHub;
  devices: DeviceServiceClient;
  consoles: ConsoleServiceClient;
}

export async function connectedDevice(c: Clients, deviceType = 'remote-test'): Promise<{ device: TestDevice; control: ControlStream }> {
  const device = await acceptedDevice(c.t, c.devices, deviceType);
  const control = await online(c.devices, device);
  return { device, control };
}

/** The next ChannelRequest on a device's control stream. */
export async function channelRequest(control: ControlStream): Promise<ChannelRequest> {
  const m = await nextCommand(control);
  if (m.msg?.$case !== 'channelRequest') throw new Error(`expected a channelRequest, got ${m.msg?.$case}`);
  return m.msg.channelRequest;
}

export interface PairedChannel {
  device: TestDevice;
  control: ControlStream;
  console: ConsoleChannel;
  dev: DeviceChannel;
  req: ChannelRequest;
  started: ChannelStarted;
}

/** A console channel opened with `token`, accepted and dialled back by a fresh connected device. */
export async function pairChannel(c: Clients, token: string, open: ChannelOpen = shellOpen({ cols: 100, rows: 30 })): Promise<PairedChannel> {
  const { device, control } = await connectedDevice(c);
  const console = openConsoleChannel(c.consoles, token, device.id, open);
  const req = await channelRequest(control);
  control.send({ msg: { $case: 'channelAnswer', channelAnswer: { channelId: req.channelId } } });
  const dev = dialDeviceChannel(c.devices, device.token, req.channelId);
  const started = await console.started;
  if (!started) throw new Error('the console got no started');
  return { device, control, console, dev, req, started };
}
