import * as grpc from '@grpc/grpc-js';
import type { DeviceMessage, DeviceServiceClient, HubMessage } from '../../proto/gen/fleet/v1/device';
import { bearer } from './grpc-clients';

/** A device control stream opened from a test, with its traffic recorded. */
export interface ControlStream {
  call: grpc.ClientDuplexStream<DeviceMessage, HubMessage>;
  received: HubMessage[];
  /** Resolves with the next message not yet taken by next(). */
  next(timeoutMs?: number): Promise<HubMessage>;
  send(message: DeviceMessage): void;
  /** The final status of the stream (OK or an error). */
  ended: Promise<grpc.StatusObject>;
}

export function openControlStream(client: DeviceServiceClient, token?: string): ControlStream {
  const call = client.connect(token === undefined ? new grpc.Metadata() : bearer(token));
  const received: HubMessage[] = [];
  let taken = 0;
  let waiter: (() => void) | undefined;
  call.on('data', (m: HubMessage) => {
    received.push(m);
    waiter?.();
  });
  // Errors arrive as the status below; without a listener they would throw.
  call.on('error', () => {});
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return {
    call,
    received,
    ended,
    send: (message) => call.write(message),
    async next(timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (received.length <= taken) {
        if (Date.now() > until) throw new Error(`no hub message within ${timeoutMs} ms`);
        await Promise.race([new Promise<void>((r) => (waiter = r)), new Promise((r) => setTimeout(r, 50)), ended]);
      }
      return received[taken++];
    },
  };
}
