import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdmissionStatus } from '../../proto/gen/fleet/v1/common';
import { Role, type ConsoleServiceClient, type ListDevicesRequest } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { enroll, makeDeviceKey } from '../testing/device-identity';
import { bearer, call, consoleClient, deviceClient, rejection } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';

let t: TestHub;
let devices: DeviceServiceClient;
let operators: ConsoleServiceClient;
let viewerToken: string;
let operatorToken: string;

beforeAll(async () => {
  t = await startTestHub();
  devices = deviceClient(t.hub);
  operators = consoleClient(t.hub);
  viewerToken = (await t.hub.store.createOperator('vera', 'viewer', 'test')).token;
  operatorToken = (await t.hub.store.createOperator('otto', 'operator', 'test')).token;
});

afterAll(async () => {
  devices?.close();
  operators?.close();
  await t?.dispose();
});

const admin = () => bearer(t.hub.adminToken);
const list = (req: Partial<ListDevicesRequest>, md = admin()) =>
  call(operators, operators.listDevices, { filter: undefined, pageSize: 0, pageToken: '', ...req }, md);

async function newDevice(identity: Record<string, string>): Promise<string> {
  return (await enroll(devices, makeDeviceKey(), identity)).deviceId;
}

describe('authentication and roles', () => {
  it('refuses calls without a known operator token', async () => {
    expect((await rejection(call(operators, operators.whoAmI, {}))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await rejection(call(operators, operators.whoAmI, {}, bearer('fleet_op_wrong')))).code).toBe(grpc.status.UNAUTHENTICATED);
    const watch = operators.watch({ sinceRevision: 0, hubId: '' }, bearer('nope'));
    const err = await new Promise<grpc.ServiceError>((resolve) => watch.on('error', resolve));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('tells each operator who they are', async () => {
    const me = await call(operators, operators.whoAmI, {}, bearer(viewerToken));
    expect(me).toMatchObject({ operator: 'vera', role: Role.ROLE_VIEWER, hubId: t.hub.hubId, hubVersion: '0.1.0' });
    expect(me.revision).toBeGreaterThan(0);
    expect((await call(operators, operators.whoAmI, {}, admin())).role).toBe(Role.ROLE_ADMIN);
  });

  it('lets a viewer read but not change, naming the role needed', async () => {
    const id = await newDevice({ device_type: 'role-test' });
    await list({}, bearer(viewerToken));
    await call(operators, operators.getDevice, { id }, bearer(viewerToken));
    const denied = await rejection(call(operators, operators.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [id], filter: undefined }, bearer(viewerToken)));
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toMatch(/needs the operator role/);
    const key = makeDeviceKey();
    const pre = await rejection(call(operators, operators.preauthorizeDevice, { publicKey: key.publicKey, identity: { device_type: 'x' } }, bearer(viewerToken)));
    expect(pre.code).toBe(grpc.status.PERMISSION_DENIED);

    const ok = await call(operators, operators.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [id], filter: undefined }, bearer(operatorToken));
    expect(ok.changed).toEqual([id]);
    const [event] = (await t.hub.store.eventsAfter(0, 10_000)).filter((e) => e.entityId === id && e.kind === 'device.admission');
    expect(event.actor).toBe('otto');
  });
});

describe('devices', () => {
  it('filters by status, attributes (identity first) and text, and pages with a total', async () => {
    const cam1 = await newDevice({ device_type: 'cam', serial: 'SN-CAM-1', site: 'north' });
    const cam2 = await newDevice({ device_type: 'cam', serial: 'SN-cam-2' });
    const gw = await newDevice({ device_type: 'gw', serial: 'SN-GW-1' });
    await t.hub.store.updateInventory(cam2, { 'os.id': 'debian', site: 'north' }, true, 'test');
    await t.hub.store.updateInventory(cam1, { site: 'south' }, true, 'test');
    await t.hub.store.setAdmission({ ids: [gw] }, 'accepted', 'test');

    const ids = async (filter: ListDevicesRequest['filter']) => (await list({ filter, pageSize: 1000 })).devices.map((d) => d.id).sort();
    const f = (x: Partial<NonNullable<ListDevicesRequest['filter']>>) => ({ status: AdmissionStatus.ADMISSION_STATUS_UNSPECIFIED, attributes: {}, text: '', ...x });
    expect(await ids(f({ attributes: { device_type: 'cam' } }))).toEqual([cam1, cam2].sort());
    expect(await ids(f({ attributes: { 'os.id': 'debian' } }))).toEqual([cam2]);
    // cam1's identity says north, so its inventory "south" is not looked at.
    expect(await ids(f({ attributes: { site: 'north' } }))).toEqual([cam1, cam2].sort());
    expect(await ids(f({ attributes: { site: 'south' } }))).toEqual([]);
    expect(await ids(f({ text: 'sn-cam' }))).toEqual([cam1, cam2].sort());
    expect(await ids(f({ text: 'DEBIAN' }))).toEqual([cam2]);
    expect(await ids(f({ text: gw.slice(4, 14) }))).toEqual([gw]);
    expect(await ids(f({ status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, attributes: { device_type: 'gw' } }))).toEqual([gw]);
    expect(await ids(f({ status: AdmissionStatus.ADMISSION_STATUS_PENDING, attributes: { device_type: 'gw' } }))).toEqual([]);

    const all = await list({ pageSize: 1000 });
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await list({ pageSize: 2, pageToken });
      expect(page.total).toBe(all.total);
      expect(page.devices.length).toBeLessThanOrEqual(2);
      seen.push(...page.devices.map((d) => d.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual(all.devices.map((d) => d.id));
    expect(new Set(seen).size).toBe(all.total);

    expect((await rejection(list({ pageToken: 'garbage!' }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await rejection(call(operators, operators.getDevice, { id: 'nope' }, admin()))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('admits every device matching a filter in one go, one event each, and reports unknown ids', async () => {
    const type = `batch-${Date.now()}`;
    const batch = await Promise.all([1, 2, 3].map((i) => newDevice({ device_type: type, serial: `B${i}` })));
    const other = await newDevice({ device_type: 'other-type' });
    const head = await t.hub.store.headRevision();
    const res = await call(
      operators,
      operators.setAdmission,
      { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [], filter: { status: AdmissionStatus.ADMISSION_STATUS_PENDING, attributes: { device_type: type }, text: '' } },
      admin(),
    );
    expect(res.changed.sort()).toEqual(batch.sort());
    const events = await t.hub.store.eventsAfter(head, 100);
    expect(events.map((e) => e.kind)).toEqual(['device.admission', 'device.admission', 'device.admission']);
    expect((await call(operators, operators.getDevice, { id: other }, admin())).status).toBe(AdmissionStatus.ADMISSION_STATUS_PENDING);

    const byIds = await call(operators, operators.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [batch[0], 'ghost'], filter: undefined }, admin());
    expect(byIds).toEqual({ changed: [], notFound: ['ghost'] });
    const none = await rejection(call(operators, operators.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [], filter: undefined }, admin()));
    expect(none.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('preauthorizes a new key and accepts an existing pending one', async () => {
    const key = makeDeviceKey();
    const pending = await enroll(devices, key, { device_type: 'pre' });
    const res = await call(operators, operators.preauthorizeDevice, { publicKey: key.publicKey, identity: { device_type: 'pre' } }, bearer(operatorToken));
    expect(res.id).toBe(pending.deviceId);
    expect(res.status).toBe(AdmissionStatus.ADMISSION_STATUS_ACCEPTED);
    const bad = await rejection(call(operators, operators.preauthorizeDevice, { publicKey: Buffer.alloc(16), identity: { device_type: 'pre' } }, admin()));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('malformed and oversized messages', () => {
  it('answers garbage bytes with an error and keeps serving', async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    for (const path of ['/fleet.v1.ConsoleService/ListDevices', '/fleet.v1.DeviceService/Enroll']) {
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        operators.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, garbage, admin(), { deadline: Date.now() + 5000 }, (e) => resolve(e)),
      );
      expect(err?.code).toBe(grpc.status.INTERNAL);
      expect(err?.details).toMatch(/deserializ/i);
    }
    const stream = operators.makeBidiStreamRequest('/fleet.v1.DeviceService/Connect', (b: Buffer) => b, (b: Buffer) => b, new grpc.Metadata());
    stream.on('data', () => {});
    stream.on('error', () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.write(garbage);
    expect((await status).code).not.toBe(grpc.status.OK);
    expect((await call(operators, operators.whoAmI, {}, admin())).operator).toBe('admin');
  });

  it('refuses a message over 1 MiB and keeps serving', async () => {
    const key = makeDeviceKey();
    const err = await rejection(call(devices, devices.enroll, { identity: { device_type: 'x', blob: 'y'.repeat(1100 * 1024) }, publicKey: key.publicKey, nonce: 'n', signature: Buffer.alloc(64) }));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await call(operators, operators.whoAmI, {}, admin())).operator).toBe('admin');
  });
});
