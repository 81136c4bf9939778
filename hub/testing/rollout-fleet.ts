import type { Metadata } from '@grpc/grpc-js';
import type { ConsoleServiceClient, CreateDeploymentRequest, Deployment, DeploymentDetail, RolloutOptions } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient, HubMessage, UpdateReport } from '../../proto/gen/fleet/v1/device';
import type { HubOptions } from '../hub';
import type { ControlStream } from './control-stream';
import { acceptedDevice, online, type TestDevice } from './fleet-fixtures';
import { bearer, call, consoleClient, deviceClient } from './grpc-clients';
import { startTestHub, type TestHub } from './test-hub';

// A real hub with gRPC clients for rollout tests (hub/rollouts/*.test.ts):
// devices are test control streams that report what the test says.

export interface RolloutFleet {
  t: TestHub;
  devices: DeviceServiceClient;
  operators: ConsoleServiceClient;
  admin: Metadata;
  streams: ControlStream[];
  /** A new accepted device with an open control stream. */
  connected(type?: string, inventory?: Record<string, string>): Promise<TestDevice & { stream: ControlStream }>;
  create(req: Partial<CreateDeploymentRequest>, rollout?: Partial<RolloutOptions>): Promise<Deployment>;
  detail(id: string): Promise<DeploymentDetail>;
  /** Restarts the hub on the same folder and reconnects the clients (streams must be reopened). */
  restart(overrides?: Partial<HubOptions>): Promise<void>;
  dispose(): Promise<void>;
}

export function rolloutOptions(o: Partial<RolloutOptions> = {}): RolloutOptions {
  return { phases: [], pauseBefore: [], window: undefined, maxFailures: undefined, retries: 0, dynamicGroup: '', maxDevices: 0, ...o };
}

export function deploymentRequest(req: Partial<CreateDeploymentRequest>, rollout?: Partial<RolloutOptions>): CreateDeploymentRequest {
  return {
    name: '',
    artifactId: '',
    artifactName: '',
    deviceIds: [],
    group: '',
    allowDowngrade: false,
    force: false,
    ...req,
    ...(rollout ? { rollout: rolloutOptions(rollout) } : {}),
  };
}

export async function startRolloutFleet(overrides: Partial<HubOptions> = {}): Promise<RolloutFleet> {
  const t = await startTestHub({ heartbeatIntervalMs: 30_000, ...overrides });
  const fleet: RolloutFleet = {
    t,
    devices: deviceClient(t.hub),
    operators: consoleClient(t.hub),
    admin: bearer(t.hub.adminToken),
    streams: [],
    async connected(type = 'board-a', inventory) {
      const device = await acceptedDevice(t, fleet.devices, type, inventory);
      const stream = await online(fleet.devices, device);
      fleet.streams.push(stream);
      return { ...device, stream };
    },
    create: (req, rollout) => call(fleet.operators, fleet.operators.createDeployment, deploymentRequest(req, rollout), fleet.admin),
    detail: (id) => call(fleet.operators, fleet.operators.getDeployment, { id }, fleet.admin),
    async restart(more) {
      for (const s of fleet.streams) s.call.cancel();
      fleet.streams.length = 0;
      fleet.devices.close();
      fleet.operators.close();
      await t.restart(more);
      fleet.devices = deviceClient(t.hub);
      fleet.operators = consoleClient(t.hub);
      fleet.admin = bearer(t.hub.adminToken);
    },
    async dispose() {
      for (const s of fleet.streams) s.call.cancel();
      fleet.devices.close();
      fleet.operators.close();
      await t.dispose();
    },
  };
  return fleet;
}

export function sendReport(stream: ControlStream, r: Partial<UpdateReport> & Pick<UpdateReport, 'deploymentId' | 'status' | 'seq'>): void {
  stream.send({ msg: { $case: 'update', update: { artifactId: '', bytesDone: 0, bytesTotal: 0, reason: '', logLines: [], ...r } } });
}

/** The command's deployment id, or a readable failure. */
export function commandOf(m: HubMessage): string {
  if (m.msg?.$case !== 'deployment') throw new Error(`expected a DeploymentCommand, got ${JSON.stringify(m.msg)}`);
  return m.msg.deployment.deploymentId;
}
