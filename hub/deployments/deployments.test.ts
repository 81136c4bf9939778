import { status, type Metadata } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact, ConsoleServiceClient, CreateDeploymentRequest, DeploymentDetail } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient, UpdateReport } from '../../proto/gen/fleet/v1/device';
import { deviceIdFromKey } from '../auth/device-key';
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
    // Re-sent after a reconnect with a new seq: stored, but no second event.
    report(a.stream, { deploymentId: first.id, status: 'success', seq: 11, bytesDone: 1000, bytesTotal: 1000 });
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

describe('AbortDeployment', () => {
  it('aborts pending devices at once, tells devices at work to roll back (also after they reconnect), and records who', async () => {
    const working = await connected('board-a');
    const waiting = await connected('board-a');
    const offlinePending = await acceptedDevice(t, devices, 'board-a');
    const offlineWorking = await connected('board-a');
    const dep = await create({ artifactId: os1.id, deviceIds: [working.id, waiting.id, offlinePending.id, offlineWorking.id] });
    for (const d of [working, waiting, offlineWorking]) expect((await nextCommand(d.stream)).msg?.$case).toBe('deployment');
    report(working.stream, { deploymentId: dep.id, status: 'installing', seq: 1 });
    report(offlineWorking.stream, { deploymentId: dep.id, status: 'downloading', seq: 1 });
    await eventually(async () => (await detail(dep.id)).deployment?.counts.pending === 2, 5000, 'two devices at work');
    offlineWorking.stream.call.cancel();
    await eventually(async () => !(await t.hub.store.getDevice(offlineWorking.id))?.online, 5000, 'device offline');

    expect((await rejection(call(operators, operators.abortDeployment, { id: dep.id }, viewer))).code).toBe(status.PERMISSION_DENIED);
    const aborted = await call(operators, operators.abortDeployment, { id: dep.id }, admin);
    expect(aborted).toMatchObject({ status: 'aborted', abortedBy: 'admin', finishedMs: 0, counts: { aborted: 2, installing: 1, downloading: 1 } });
    expect((await nextCommand(working.stream)).msg).toEqual({ $case: 'abort', abort: { deploymentId: dep.id } });
    // The hub thought it pending, but it had the command: it is told too.
    expect((await nextCommand(waiting.stream)).msg).toEqual({ $case: 'abort', abort: { deploymentId: dep.id } });
    expect((await deviceStatus(dep.id, offlinePending.id))).toMatchObject({ status: 'aborted', reason: expect.stringMatching(/aborted by admin before the device started/) });
    // Aborting again changes nothing.
    expect(await call(operators, operators.abortDeployment, { id: dep.id }, admin)).toMatchObject({ status: 'aborted', abortedBy: 'admin' });

    // A progress report for a device already aborted is ignored, and the abort repeated.
    report(waiting.stream, { deploymentId: dep.id, status: 'downloading', seq: 1 });
    expect((await nextCommand(waiting.stream)).msg).toEqual({ $case: 'abort', abort: { deploymentId: dep.id } });
    // Once per stream: the device's answers must not ping-pong with the hub.
    report(waiting.stream, { deploymentId: dep.id, status: 'downloading', seq: 2 });
    expect(await quiet(waiting.stream, 300)).toBe(true);

    const back = await online(devices, offlineWorking);
    streams.push(back);
    expect((await nextCommand(back)).msg).toEqual({ $case: 'abort', abort: { deploymentId: dep.id } });
    report(working.stream, { deploymentId: dep.id, status: 'aborted', seq: 2, reason: 'rolled back on abort' });
    // It had committed already: success is the truth.
    report(back, { deploymentId: dep.id, status: 'success', seq: 7 });
    const done = await eventually(async () => {
      const d = await detail(dep.id);
      return d.deployment!.finishedMs > 0 ? d : undefined;
    }, 5000, 'deployment done');
    expect(done.deployment).toMatchObject({ status: 'aborted', counts: { aborted: 3, success: 1 } });
    expect(await deviceStatus(dep.id, waiting.id)).toMatchObject({ status: 'aborted' });
    const events = (await t.hub.store.eventsAfter(0, 10_000)).filter((e) => e.entityId === dep.id);
    expect(events.map((e) => e.kind)).toEqual(['deployment.created', 'deployment.aborted', 'deployment.device', 'deployment.device', 'deployment.finished']);
    expect(events[1]).toMatchObject({ actor: 'admin', details: { abortedPending: '2', inProgress: '2' } });

    const next = await create({ artifactId: os1.id, deviceIds: [working.id], force: true });
    expect((await nextCommand(working.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: next.id } });
    report(working.stream, { deploymentId: next.id, status: 'failure', seq: 1, reason: 'disk full' });
    await eventually(async () => (await detail(next.id)).deployment?.status === 'finished', 5000, 'finished');
    const again = await rejection(call(operators, operators.abortDeployment, { id: next.id }, admin));
    expect(again.code).toBe(status.FAILED_PRECONDITION);
    expect(again.details).toMatch(/already finished/);
    expect((await rejection(call(operators, operators.abortDeployment, { id: 'nope' }, admin))).code).toBe(status.NOT_FOUND);
  });

  it('sends a device its next deployment once the aborted one is off its plate', async () => {
    const a = await connected('board-a');
    const first = await create({ artifactId: os1.id, deviceIds: [a.id] });
    const second = await create({ artifactId: os2.id, deviceIds: [a.id] });
    expect((await nextCommand(a.stream)).msg).toMatchObject({ deployment: { deploymentId: first.id } });
    await call(operators, operators.abortDeployment, { id: first.id }, admin);
    expect((await nextCommand(a.stream)).msg).toEqual({ $case: 'abort', abort: { deploymentId: first.id } });
    expect((await nextCommand(a.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: second.id } });
  });
});

describe('static groups', () => {
  it('adds and removes members, lists groups, and deploys to a group', async () => {
    const a = await acceptedDevice(t, devices, 'board-a');
    const b = await acceptedDevice(t, devices, 'board-b');
    const set = (name: string, add: string[], remove: string[] = [], md = admin) => call(operators, operators.setGroupMembers, { name, add, remove }, md);
    const group = await set('lab', [b.id, a.id, a.id]);
    expect(group).toEqual({ name: 'lab', deviceIds: [a.id, b.id].sort() });
    expect((await set('spare', [a.id])).deviceIds).toEqual([a.id]);
    expect((await set('spare', [], [a.id])).deviceIds).toEqual([]);
    const groups = (await call(operators, operators.listGroups, {}, viewer)).groups;
    expect(groups.find((g) => g.name === 'lab')?.deviceIds).toEqual([a.id, b.id].sort());
    expect(groups.find((g) => g.name === 'spare')).toBeUndefined();

    expect((await rejection(set('lab', ['ghost']))).code).toBe(status.NOT_FOUND);
    expect((await rejection(set('bad name!', [a.id]))).code).toBe(status.INVALID_ARGUMENT);
    expect((await rejection(set('lab', [a.id], [], viewer))).code).toBe(status.PERMISSION_DENIED);

    const dep = await create({ artifactId: os1.id, group: 'lab' });
    expect(dep).toMatchObject({ total: 2, counts: { pending: 2 } });
    expect((await detail(dep.id)).devices.map((d) => d.deviceId)).toEqual([a.id, b.id].sort());
    const events = (await t.hub.store.eventsAfter(0, 10_000)).filter((e) => e.kind === 'group.changed' && e.entityId === 'lab');
    expect(events).toHaveLength(1);
  });
});

describe('ListDeployments', () => {
  it('lists newest first, filters by status, and refuses an unknown status', async () => {
    const all = (await call(operators, operators.listDeployments, { status: '', limit: 0 }, viewer)).deployments;
    expect(all.length).toBeGreaterThan(3);
    expect([...all].sort((x, y) => y.createdMs - x.createdMs).map((d) => d.id)).toEqual(all.map((d) => d.id));
    const aborted = (await call(operators, operators.listDeployments, { status: 'aborted', limit: 0 }, viewer)).deployments;
    expect(aborted.length).toBeGreaterThan(0);
    expect(aborted.every((d) => d.status === 'aborted')).toBe(true);
    expect((await call(operators, operators.listDeployments, { status: '', limit: 2 }, viewer)).deployments).toHaveLength(2);
    expect((await rejection(call(operators, operators.listDeployments, { status: 'done', limit: 0 }, viewer))).code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('hub restart', () => {
  it('keeps deployments, statuses, queued progress, logs and groups, and resends the command after Hello', async () => {
    const a = await connected('board-a');
    await call(operators, operators.setGroupMembers, { name: 'persist', add: [a.id], remove: [] }, admin);
    const dep = await create({ artifactId: os1.id, group: 'persist' });
    await nextCommand(a.stream);
    report(a.stream, { deploymentId: dep.id, status: 'downloading', seq: 4, bytesDone: 42, bytesTotal: 100, logLines: ['before restart'] });
    // A heartbeat answered means the report before it was taken in; it is
    // likely still queued (written every 250 ms): close must write it.
    a.stream.send({ msg: { $case: 'heartbeat', heartbeat: { sentMs: 1 } } });
    await a.stream.next();
    const before = await detail(dep.id).catch(() => undefined);
    expect(before).toBeDefined();

    await t.restart();
    operators.close();
    devices.close();
    operators = consoleClient(t.hub);
    devices = deviceClient(t.hub);
    admin = bearer(t.hub.adminToken);

    const after = await detail(dep.id);
    expect(after.deployment).toMatchObject({ id: dep.id, status: 'active', total: 1, counts: { downloading: 1 } });
    expect(after.devices[0]).toMatchObject({ status: 'downloading', bytesDone: 42, bytesTotal: 100 });
    expect((await call(operators, operators.getDeploymentLog, { deploymentId: dep.id, deviceId: a.id }, admin)).lines).toEqual(['before restart']);
    expect((await call(operators, operators.listGroups, {}, admin)).groups.find((g) => g.name === 'persist')?.deviceIds).toEqual([a.id]);
    const back = await online(devices, a);
    streams.push(back);
    expect((await nextCommand(back)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id } });
  });
});

describe('scale', () => {
  it('creates and reads a deployment to 1,000 devices over gRPC quickly', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const publicKey = randomBytes(32);
      const device = await t.hub.store.preauthorizeDevice({ id: deviceIdFromKey(publicKey), publicKey, identity: { device_type: 'board-a' } }, 'test');
      ids.push(device.id);
    }
    let t0 = performance.now();
    const dep = await create({ artifactId: os1.id, deviceIds: ids });
    const createMs = performance.now() - t0;
    expect(dep).toMatchObject({ total: 1000, counts: { pending: 1000 } });
    t0 = performance.now();
    const d = await detail(dep.id);
    const getMs = performance.now() - t0;
    expect(d.devices).toHaveLength(1000);
    console.log(`1,000 devices over gRPC: CreateDeployment ${createMs.toFixed(1)} ms, GetDeployment ${getMs.toFixed(1)} ms`);
    expect(createMs).toBeLessThan(2000);
    expect(getMs).toBeLessThan(1000);
  }, 30_000);
});
