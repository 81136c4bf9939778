import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { PeekedConsoleRequest } from '../../proto/channel-frame-codec';
import type { ChannelError } from '../../proto/gen/fleet/v1/channel';
import type { ChannelStart, ConsoleChannelRequest, ConsoleChannelResponse } from '../../proto/gen/fleet/v1/console';
import { authenticateOperator } from '../auth/operator-auth';
import type { Operator, SessionKind } from '../store/store';
import { describeOpen, withOperator, type SessionTopic } from './channel-open';
import { asConsoleChannelCall, type ConsoleChannelCall } from './channel-wire';
import type { RemoteHub } from './remote-hub';

// ConsoleService.Channel: `start{deviceId, open}`, then frames both ways.
// Every refusal is an error frame, a close frame, and the call ending OK
// (console.proto); refusals with a known operator are audited
// (`session.refused`).

export async function serveConsoleChannel(hub: RemoteHub, grpcCall: ServerDuplexStream<ConsoleChannelRequest, ConsoleChannelResponse>): Promise<void> {
  const call = asConsoleChannelCall(grpcCall);
  // Unauthenticated calls end with UNAUTHENTICATED (thrown to the caller): there is nobody to audit.
  const operator = await authenticateOperator(hub.store, call.metadata);
  const first = await firstMessage(call, hub.options.openTimeoutMs);
  if (call.cancelled) return;
  if (first?.$case !== 'start') {
    return refuse(call, { code: 'protocol', message: first ? 'the first message of a Channel call must be start{device_id, open}' : `no start message within ${hub.options.openTimeoutMs} ms` });
  }
  const start = first.start;
  const topic = describeOpen(start.open);
  if (typeof topic === 'string') return refuse(call, { code: 'protocol', message: topic });
  const audit = (error: ChannelError) => auditRefusal(hub, operator, start, topic, error);

  if (operator.role !== 'operator' && operator.role !== 'admin') {
    return refuse(call, { code: 'forbidden', message: `${describeKind(topic.kind)} needs the operator role (or admin); operator "${operator.name}" is ${operator.role}` }, audit);
  }
  const device = start.deviceId ? await hub.store.getDevice(start.deviceId) : undefined;
  if (!device) return refuse(call, { code: 'not-found', message: `no device with id "${start.deviceId}" on this hub` }, audit);
  if (device.status !== 'accepted') return refuse(call, { code: 'device-offline', message: `device ${device.id} is ${device.status}: only accepted devices take sessions` }, audit);

  const pending = hub.pending.create(device.id);
  const open = withOperator(start.open!, operator.name);
  const onCancel = () => pending.cancel();
  call.once('cancelled', onCancel);
  if (!hub.askDevice(device.id, pending.channelId, open)) {
    pending.cancel();
    return refuse(call, { code: 'device-offline', message: `device ${device.id} is not connected to the hub` }, audit);
  }
  const outcome = await pending.outcome;
  call.off('cancelled', onCancel);
  switch (outcome.kind) {
    case 'dialed':
      try {
        return await hub.startSession(operator, device.id, topic, open, call, outcome.call);
      } catch (err) {
        // Nothing is relayed yet: both calls end here, each with the reason.
        const message = `the hub could not start the session: ${(err as Error).message}`;
        const dev = outcome.call;
        if (!dev.cancelled && !dev.writableEnded) {
          dev.write({ frame: { $case: 'close', close: { reason: `internal: ${message}` } } });
          dev.end();
        }
        return refuse(call, { code: 'internal', message });
      }
    case 'refused':
      return refuse(call, outcome.error, audit);
    case 'offline':
      return refuse(call, { code: 'device-offline', message: `device ${device.id} disconnected before it answered` }, audit);
    case 'timeout':
      return refuse(call, { code: 'timeout', message: `device ${device.id} did not open the channel within ${hub.options.openTimeoutMs / 1000} s` }, audit);
    case 'cancelled':
      // The console gave up (audited), or the hub is stopping (the store is closing: nothing to write).
      if (call.cancelled) return audit({ code: 'cancelled', message: 'the console gave up before the device answered' });
      return refuse(call, { code: 'internal', message: 'the hub is shutting down' });
  }
}

/** The first message; the call is paused right after it so later frames wait (unread) for the relay. */
function firstMessage(call: ConsoleChannelCall, timeoutMs: number): Promise<PeekedConsoleRequest | undefined> {
  return new Promise((resolve) => {
    const done = (m?: PeekedConsoleRequest) => {
      clearTimeout(timer);
      call.off('data', onData);
      call.off('end', onEnd);
      call.off('cancelled', onEnd);
      resolve(m);
    };
    const onData = (m: PeekedConsoleRequest) => {
      call.pause();
      done(m);
    };
    const onEnd = () => done();
    const timer = setTimeout(onEnd, timeoutMs);
    call.on('data', onData);
    call.on('end', onEnd);
    call.on('cancelled', onEnd);
  });
}

/** Audits (first, so the entry exists once the console sees the refusal), then error + close + OK. */
async function refuse(call: ConsoleChannelCall, error: ChannelError, audit?: (error: ChannelError) => Promise<void>): Promise<void> {
  try {
    await audit?.(error);
  } finally {
    if (!call.cancelled && !call.writableEnded) {
      call.write({ msg: { $case: 'frame', frame: { frame: { $case: 'error', error } } } });
      call.write({ msg: { $case: 'frame', frame: { frame: { $case: 'close', close: { reason: error.code } } } } });
      call.end();
    }
  }
}

function auditRefusal(hub: RemoteHub, operator: Operator, start: ChannelStart, topic: SessionTopic, error: ChannelError): Promise<void> {
  return hub.store.recordSessionRefusal({ deviceId: start.deviceId, operator: operator.name, kind: topic.kind, detail: topic.detail, code: error.code, message: error.message });
}

function describeKind(kind: SessionKind): string {
  return kind === 'port-forward' ? 'a port forward' : kind === 'file' ? 'file transfer' : 'a remote shell';
}
