import { status, type Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact, ConsoleServiceClient, CreateDeploymentRequest, DeploymentDetail } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient, UpdateReport } from '../../proto/gen/fleet/v1/device';
import type { ControlStream } from '../testing/control-stream';
import { acceptedDevice, nextCommand, online, quiet, uploadTestArtifact, type TestDevice } from '../testing/fleet-fixtures';
import { bearer, call, consoleClient, deviceClient, eventually, rejection } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';

let t: TestHub;
let devices: DeviceServiceClient;
let operators: ConsoleServiceClient;
let admin: Metadata;
let viewer: Metadata;
let os1: Artifact;
let os2: Artifact;
const streams: ControlStream[] = [];

beforeAll(async () => {
  t = await startTestHub({ heartbeatIntervalMs: 30_000 });
  devices = deviceClient(t.hub);
  operators = consoleClient(t.hub);
  admin = bearer(t.hub.adminToken);
  viewer = bearer((await t.hub.store.createOperator('vera', 'viewer', 'test')).token);
  os1 = (await uploadTestArtifact(t, operators, { name: 'os', version: '1.0', deviceTypes: ['board-a', 'board-b'], seed: 1 })).artifact;
  os2 = (await uploadTestArtifact(t, operators, { name: 'os', version: '2.0', deviceTypes: ['board-a'], seed: 2 })).artifact;
}, 30_000);

afterAll(async () => {
  for (const s of streams) s.call.cancel();
  devices?.close();
  operators?.close();
  await t?.dispose();
});

const request = (req: Partial<CreateDeploymentRequest>): CreateDeploymentRequest => ({
  name: '',
  artifactId: '',
  artifactName: '',
  deviceIds: [],
  group: '',
  allowDowngrade: false,
  force: false,
  ...req,
});
const create = (req: Partial<CreateDeploymentRequest>, md = admin) => call(operators, operators.createDeployment, request(req), md);
const detail = (id: string): Promise<DeploymentDetail> => call(operators, operators.getDeployment, { id }, admin);
const deviceStatus = async (deploymentId: string, deviceId: string) => (await detail(deploymentId)).devices.find((d) => d.deviceId === deviceId);

async function connected(type = 'board-a', inventory?: Record<string, string>): Promise<TestDevice & { stream: ControlStream }> {
  const device = await acceptedDevice(t, devices, type, inventory);
  const stream = await online(devices, device);
  streams.push(stream);
  return { ...device, stream };
}

function report(stream: ControlStream, r: Partial<UpdateReport> & Pick<UpdateReport, 'deploymentId' | 'status' | 'seq'>): void {
  stream.send({ msg: { $case: 'update', update: { artifactId: '', bytesDone: 0, bytesTotal: 0, reason: '', logLines: [], ...r } } });
}

describe('CreateDeployment', () => {
  it('creates a deployment by artifact name (newest upload), decides each device, and pushes the command to an online target', async () => {
    const a = await connected('board-a');
    const other = await connected('board-c');
    const done = await connected('board-a', { 'artifact.os.name': 'os', 'artifact.os.version': '2.0' });
    const deployment = await create({ artifactName: 'os', deviceIds: [a.id, other.id, done.id, a.id] });
    expect(deployment).toMatchObject({
      name: 'os 2.0',
      artifactId: os2.id,
      artifactName: 'os',
      artifactVersion: '2.0',
      status: 'active',
      createdBy: 'admin',
      finishedMs: 0,
      total: 3,
      counts: { pending: 1, incompatible: 1, 'already-installed': 1 },
    });
    const command = await nextCommand(a.stream);
    expect(command.msg).toEqual({
      $case: 'deployment',
      deployment: { deploymentId: deployment.id, artifactId: os2.id, artifactName: 'os', artifactVersion: '2.0', artifactSize: os2.size, allowDowngrade: false, force: false },
    });
    // Devices the hub decided for are not contacted.
    expect(await quiet(other.stream, 200)).toBe(true);
    expect(await quiet(done.stream, 200)).toBe(true);
    const d = await detail(deployment.id);
    expect(d.devices.find((x) => x.deviceId === other.id)).toMatchObject({ status: 'incompatible', reason: expect.stringMatching(/device type "board-c"/) });
    expect(d.devices.find((x) => x.deviceId === done.id)).toMatchObject({ status: 'already-installed', finishedMs: expect.any(Number) });
    expect(d.devices.find((x) => x.deviceId === a.id)).toMatchObject({ status: 'pending', finishedMs: 0, startedMs: 0 });
    const events = (await t.hub.store.eventsAfter(0, 10_000)).filter((e) => e.entityId === deployment.id);
    expect(events.map((e) => e.kind)).toEqual(['deployment.created']);
    expect(events[0].actor).toBe('admin');
  });

  it('finishes at once when every target is final at creation; force installs again', async () => {
    const done = await connected('board-a', { 'artifact.os.name': 'os', 'artifact.os.version': '1.0' });
    const finished = await create({ artifactId: os1.id, deviceIds: [done.id] });
    expect(finished).toMatchObject({ status: 'finished', counts: { 'already-installed': 1 } });
    expect(finished.finishedMs).toBeGreaterThan(0);
    const forced = await create({ artifactId: os1.id, deviceIds: [done.id], force: true, name: 'again' });
    expect(forced).toMatchObject({ status: 'active', name: 'again', force: true, counts: { pending: 1 } });
    expect((await nextCommand(done.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: forced.id, force: true } });
  });

  it('refuses bad requests with clear errors, and viewers', async () => {
    const a = await acceptedDevice(t, devices, 'board-a');
    const cases: [Partial<CreateDeploymentRequest>, status, RegExp][] = [
      [{ deviceIds: [a.id] }, status.INVALID_ARGUMENT, /give the artifact/],
      [{ artifactId: os1.id, artifactName: 'os', deviceIds: [a.id] }, status.INVALID_ARGUMENT, /not both/],
      [{ artifactId: 'f'.repeat(64), deviceIds: [a.id] }, status.NOT_FOUND, /no artifact with id/],
      [{ artifactName: 'nope', deviceIds: [a.id] }, status.NOT_FOUND, /no artifact named "nope"/],
      [{ artifactId: os1.id }, status.INVALID_ARGUMENT, /give the target devices/],
      [{ artifactId: os1.id, deviceIds: [a.id], group: 'g' }, status.INVALID_ARGUMENT, /not both/],
      [{ artifactId: os1.id, deviceIds: [a.id, 'ghost'] }, status.NOT_FOUND, /1 target device is unknown to this hub: ghost/],
      [{ artifactId: os1.id, group: 'no-such-group' }, status.NOT_FOUND, /no static group "no-such-group"/],
    ];
    for (const [req, code, message] of cases) {
      const err = await rejection(create(req));
      expect({ code: err.code, details: err.details }).toEqual({ code, details: expect.stringMatching(message) });
    }
    const denied = await rejection(create({ artifactId: os1.id, deviceIds: [a.id] }, viewer));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(denied.details).toMatch(/creating a deployment needs the operator role/);
    // Reading is fine for a viewer.
    await call(operators, operators.listDeployments, { status: '', limit: 0 }, viewer);
  });
});

describe('device reports', () => {
  it('keeps the highest seq, never lets a final status go back, appends logs, and then sends the next deployment', async () => {
    const a = await connected('board-a');
    const first = await create({ artifactId: os1.id, deviceIds: [a.id] });
    const second = await create({ artifactId: os2.id, deviceIds: [a.id] });
    expect((await nextCommand(a.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: first.id } });
    // The second is not pushed while the first is in progress.
    expect(await quiet(a.stream, 300)).toBe(true);

    report(a.stream, { deploymentId: first.id, status: 'downloading', seq: 5, bytesDone: 500, bytesTotal: 1000, logLines: ['t1 start'] });
    report(a.stream, { deploymentId: first.id, status: 'downloading', seq: 3, bytesDone: 100, bytesTotal: 1000, logLines: ['t0 stale'] });
    await eventually(async () => (await deviceStatus(first.id, a.id))?.bytesDone === 500, 5000, 'progress stored');
    report(a.stream, { deploymentId: first.id, status: 'installing', seq: 6, bytesDone: 1000, bytesTotal: 1000, logLines: ['t2 install'] });
    report(a.stream, { deploymentId: first.id, status: 'success', seq: 9, bytesDone: 1000, bytesTotal: 1000, logLines: ['t3 committed'] });
    expect((await nextCommand(a.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: second.id } });
    report(a.stream, { deploymentId: first.id, status: 'rebooting', seq: 10 });
    await new Promise((r) => setTimeout(r, 400));

    const d = await detail(first.id);
    expect(d.deployment).toMatchObject({ status: 'finished', counts: { success: 1 } });
    expect(d.devices[0]).toMatchObject({ status: 'success', bytesDone: 1000, bytesTotal: 1000, startedMs: expect.any(Number) });
    expect(d.devices[0].finishedMs).toBeGreaterThan(0);
    const log = await call(operators, operators.getDeploymentLog, { deploymentId: first.id, deviceId: a.id }, viewer);
    expect(log.lines).toEqual(['t1 start', 't2 install', 't3 committed']);
    const history = await call(operators, operators.listDeviceDeployments, { deviceId: a.id }, viewer);
    expect(history.deployments.map((x) => [x.deploymentId, x.status])).toEqual([
      [second.id, 'pending'],
      [first.id, 'success'],
    ]);
    const kinds = (await t.hub.store.eventsAfter(0, 10_000)).filter((e) => e.entityId === first.id).map((e) => e.kind);
    expect(kinds).toEqual(['deployment.created', 'deployment.device', 'deployment.finished']);
  });

  it('ignores reports for unknown deployments and from devices outside it, without ending the stream', async () => {
    const a = await connected('board-a');
    const b = await connected('board-a');
    const dep = await create({ artifactId: os1.id, deviceIds: [a.id] });
    await nextCommand(a.stream);
    report(b.stream, { deploymentId: dep.id, status: 'success', seq: 1 });
    report(b.stream, { deploymentId: 'no-such-deployment', status: 'failure', seq: 1 });
    report(a.stream, { deploymentId: dep.id, status: 'bogus', seq: 1 });
    report(a.stream, { deploymentId: dep.id, status: 'downloading', seq: 2 });
    await eventually(async () => (await deviceStatus(dep.id, a.id))?.status === 'downloading', 5000, 'a downloading');
    expect((await detail(dep.id)).devices.map((d) => d.deviceId)).toEqual([a.id]);
    b.stream.send({ msg: { $case: 'heartbeat', heartbeat: { sentMs: 1 } } });
    expect((await b.stream.next()).msg?.$case).toBe('heartbeatAck');
  });
});
