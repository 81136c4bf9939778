import { expect } from 'vitest';
import type { DeviceServiceClient, HubMessage, UpdateReport } from '../../proto/gen/fleet/v1/device';
import { openControlStream, type ControlStream } from '../../hub/testing/control-stream';
import { enroll, makeDeviceKey } from '../../hub/testing/device-identity';
import { bearer, call, consoleClient } from '../../hub/testing/grpc-clients';
import type { HubProgram } from '../../tests/support/processes';

// A device for fleetctl's end-to-end tests: a real gRPC device client
// (preauthorized, enrolled, on the control stream) that answers the hub the
// way an agent does, so each test decides exactly what every device reports.

export interface FakeDevice {
  id: string;
  stream: ControlStream;
  seq: number;
  /** the next message of that kind for this deployment, skipping other messages */
  next(kind: 'deployment' | 'abort' | 'deploymentContinue', deploymentId: string): Promise<HubMessage>;
  report(update: Partial<UpdateReport> & { deploymentId: string; status: string; artifactId: string }): void;
  inventory(attributes: Record<string, string>): void;
}

export async function connectDevice(hub: HubProgram, dc: DeviceServiceClient, deviceType: string): Promise<FakeDevice> {
  const key = makeDeviceKey();
  const cc = consoleClient(hub);
  try {
    await call(cc, cc.preauthorizeDevice, { publicKey: key.publicKey, identity: { device_type: deviceType } }, bearer(hub.adminToken));
  } finally {
    cc.close();
  }
  const { deviceId, token } = await enroll(dc, key, { device_type: deviceType });
  const stream = openControlStream(dc, token);
  const first = await stream.next(10_000);
  expect(first.msg?.$case).toBe('hello');
  // The hub ends streams silent for 3 heartbeat intervals (30 s each by default).
  const beat = setInterval(() => stream.send({ msg: { $case: 'heartbeat', heartbeat: { sentMs: Date.now() } } }), 10_000);
  beat.unref();
  void stream.ended.then(() => clearInterval(beat));
  const device: FakeDevice = {
    id: deviceId,
    stream,
    seq: 0,
    async next(kind, deploymentId) {
      const until = Date.now() + 10_000;
      for (;;) {
        const m = await stream.next(Math.max(1, until - Date.now()));
        if (m.msg?.$case === 'deployment' && kind === 'deployment' && m.msg.deployment.deploymentId === deploymentId) return m;
        if (m.msg?.$case === 'abort' && kind === 'abort' && m.msg.abort.deploymentId === deploymentId) return m;
        if (m.msg?.$case === 'deploymentContinue' && kind === 'deploymentContinue' && m.msg.deploymentContinue.deploymentId === deploymentId) return m;
      }
    },
    report(update) {
      stream.send({ msg: { $case: 'update', update: { bytesDone: 0, bytesTotal: 0, reason: '', logLines: [], ...update, seq: ++device.seq } } });
    },
    inventory(attributes) {
      stream.send({ msg: { $case: 'inventory', inventory: { full: false, attributes } } });
    },
  };
  return device;
}
