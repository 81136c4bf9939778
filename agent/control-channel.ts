import type { DeviceMessage, HubMessage } from '../proto/gen/fleet/v1/device';

// What else rides on a device's control stream (the update engine): told
// when the stream is up (with a way to send on it), given every hub message
// that is not Hello or a heartbeat ack, and told when the stream is gone.

export interface ControlChannel {
  online(send: (msg: DeviceMessage) => void): void;
  message(msg: HubMessage): void;
  offline(): void;
}
