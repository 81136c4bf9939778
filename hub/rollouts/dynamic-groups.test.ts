import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact, AttributeCondition } from '../../proto/gen/fleet/v1/console';
import { acceptedDevice, nextCommand, online, quiet, uploadTestArtifact } from '../testing/fleet-fixtures';
import { bearer, call, eventually, rejection } from '../testing/grpc-clients';
import { sendReport, startRolloutFleet, type RolloutFleet } from '../testing/rollout-fleet';

// Dynamic groups (saved device queries) and deployments to them, against a
// real hub over TLS with devices as gRPC control streams.

let f: RolloutFleet;
let os: Artifact;

beforeAll(async () => {
  f = await startRolloutFleet();
  os = (await uploadTestArtifact(f.t, f.operators, { name: 'os', version: '5.0', deviceTypes: ['board-a'], seed: 5 })).artifact;
}, 30_000);

afterAll(async () => {
  await f?.dispose();
});

const cond = (attribute: string, op: string, value = '', values: string[] = []): AttributeCondition => ({ attribute, op, value, values });
const createGroup = (name: string, conditions: AttributeCondition[], replace = false, md = f.admin) =>
  call(f.operators, f.operators.createDynamicGroup, { name, query: { conditions }, replace }, md);

describe('dynamic groups', () => {
  it('creates, lists, shows, previews and deletes saved queries; refuses bad ones', async () => {
    await f.connected('board-a', { site: 'tromso', 'mem.total_mb': '512' });
    await f.connected('board-a', { site: 'tromso', 'mem.total_mb': '2048' });
    const group = await createGroup('tromso-big', [cond('site', 'eq', 'tromso'), cond('mem.total_mb', 'ge', '1024')]);
    expect(group).toMatchObject({ name: 'tromso-big', createdBy: 'admin', matching: 1, query: { conditions: [{ attribute: 'site', op: 'eq', value: 'tromso' }, { attribute: 'mem.total_mb', op: 'ge', value: '1024' }] } });
    expect((await rejection(createGroup('tromso-big', [cond('site', 'exists')]))).code).toBe(status.ALREADY_EXISTS);
    expect((await createGroup('tromso-big', [cond('site', 'eq', 'tromso')], true)).matching).toBe(2);
    expect((await rejection(createGroup('bad name', [cond('site', 'exists')]))).code).toBe(status.INVALID_ARGUMENT);
    expect((await rejection(createGroup('x', [cond('site', 'like', 'a')]))).details).toMatch(/op must be one of/);
    const viewer = bearer((await f.t.hub.store.createOperator('val', 'viewer', 'test')).token);
    expect((await rejection(createGroup('y', [cond('site', 'exists')], false, viewer))).code).toBe(status.PERMISSION_DENIED);

    const list = await call(f.operators, f.operators.listDynamicGroups, {}, viewer);
    expect(list.groups.map((g) => [g.name, g.matching])).toEqual([['tromso-big', 2]]);
    const shown = await call(f.operators, f.operators.getDynamicGroup, { name: 'tromso-big' }, viewer);
    expect(shown.deviceIds).toHaveLength(2);
    const preview = await call(f.operators, f.operators.previewDeviceQuery, { query: { conditions: [cond('mem.total_mb', 'lt', '1024')] } }, viewer);
    expect(preview).toMatchObject({ matching: 1, sample: [expect.any(String)] });
    expect((await rejection(call(f.operators, f.operators.getDynamicGroup, { name: 'nope' }, viewer))).code).toBe(status.NOT_FOUND);
    expect((await call(f.operators, f.operators.deleteDynamicGroup, { name: 'tromso-big' }, f.admin)).name).toBe('tromso-big');
    expect((await call(f.operators, f.operators.listDynamicGroups, {}, viewer)).groups).toEqual([]);
  });

  it('a device that comes to match joins the active deployment (up to max_devices); one that stops matching before it started leaves it', async () => {
    await createGroup('oslo', [cond('device_type', 'eq', 'board-a'), cond('site', 'eq', 'oslo')]);
    const first = await f.connected('board-a', { site: 'oslo' });
    const quitter = await acceptedDevice(f.t, f.devices, 'board-a', { site: 'oslo' }); // offline: it cannot start
    const mover = await f.connected('board-a', { site: 'bergen' });
    const late = await f.connected('board-a', { site: 'bergen' });
    const extra = await f.connected('board-a', { site: 'bergen' });

    expect((await rejection(f.create({ artifactId: os.id, deviceIds: [first.id] }, { dynamicGroup: 'oslo' }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await rejection(f.create({ artifactId: os.id }, { dynamicGroup: 'nowhere' }))).code).toBe(status.NOT_FOUND);
    const dep = await f.create({ artifactId: os.id }, { dynamicGroup: 'oslo', maxDevices: 3 });
    expect(dep).toMatchObject({ total: 2, status: 'active', rollout: { options: { dynamicGroup: 'oslo', maxDevices: 3 } } });
    expect((await nextCommand(first.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id } });

    // Comes to match: joins and gets the command at once.
    await f.t.hub.store.updateInventory(mover.id, { site: 'oslo' }, false, 'test');
    expect((await nextCommand(mover.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id } });

    // Stops matching before it started: leaves, and never gets it.
    await f.t.hub.store.updateInventory(quitter.id, { site: 'bergen' }, false, 'test');
    await eventually(async () => (await f.detail(dep.id)).deployment?.total === 2, 5000, 'quitter left');
    const back = await online(f.devices, quitter);
    f.streams.push(back);
    expect(await quiet(back, 300)).toBe(true);

    // A device that started stays when it stops matching.
    sendReport(first.stream, { deploymentId: dep.id, status: 'downloading', seq: 1 });
    await eventually(async () => (await f.detail(dep.id)).devices.find((d) => d.deviceId === first.id)?.status === 'downloading', 5000, 'first downloading');
    await f.t.hub.store.updateInventory(first.id, { site: 'bergen' }, false, 'test');

    // The third joins; then the cap holds.
    await f.t.hub.store.updateInventory(late.id, { site: 'oslo' }, false, 'test');
    expect((await nextCommand(late.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id } });
    await f.t.hub.store.updateInventory(extra.id, { site: 'oslo' }, false, 'test');
    expect(await quiet(extra.stream, 300)).toBe(true);

    const d = await f.detail(dep.id);
    expect(d.devices.map((x) => x.deviceId).sort()).toEqual([first.id, mover.id, late.id].sort());
    const moves = d.history?.entries.filter((e) => e.action.startsWith('device-')).map((e) => [e.action, e.details.deviceId]);
    expect(moves).toEqual([
      ['device-joined', mover.id],
      ['device-left', quitter.id],
      ['device-joined', late.id],
    ]);
    // Full and every device final: finished.
    for (const x of [first, mover, late]) sendReport(x.stream, { deploymentId: dep.id, status: 'success', seq: 5 });
    await eventually(async () => (await f.detail(dep.id)).deployment?.status === 'finished', 5000, 'finished');
  });

  it('stays open while below max_devices even when every device is final', async () => {
    await createGroup('lab', [cond('site', 'eq', 'lab')]);
    const a = await f.connected('board-a', { site: 'lab' });
    const dep = await f.create({ artifactId: os.id }, { dynamicGroup: 'lab' });
    await nextCommand(a.stream);
    sendReport(a.stream, { deploymentId: dep.id, status: 'success', seq: 1 });
    await eventually(async () => (await f.detail(dep.id)).deployment?.counts.success === 1, 5000, 'a done');
    expect((await f.detail(dep.id)).deployment?.status).toBe('active');
    const b = await f.connected('board-a', { site: 'elsewhere' });
    await f.t.hub.store.updateInventory(b.id, { site: 'lab' }, false, 'test');
    expect((await nextCommand(b.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id } });
    expect((await call(f.operators, f.operators.abortDeployment, { id: dep.id }, f.admin)).status).toBe('aborted');
  });
});
