import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import { sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollPayload } from '../../proto/enroll-payload';
import { AdmissionStatus } from '../../proto/gen/fleet/v1/common';
import type { ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { issueNonce } from '../auth/enroll-nonce';
import { WAIT_METADATA } from './admission-waiters';
import { openControlStream } from '../testing/control-stream';
import { enroll, makeDeviceKey, type DeviceKey } from '../testing/device-identity';
import { bearer, call, consoleClient, deviceClient, eventually, rejection } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';

let t: TestHub;
let devices: DeviceServiceClient;
let operators: ConsoleServiceClient;
let serial = 0;

beforeAll(async () => {
  t = await startTestHub({ enrollRetryMs: 1234, heartbeatIntervalMs: 10_000 });
  devices = deviceClient(t.hub);
  operators = consoleClient(t.hub);
});

afterAll(async () => {
  devices?.close();
  operators?.close();
  await t?.dispose();
});

const admin = () => bearer(t.hub.adminToken);
const getDevice = (id: string) => call(operators, operators.getDevice, { id }, admin());
const setStatus = (ids: string[], s: AdmissionStatus) => call(operators, operators.setAdmission, { status: s, ids, filter: undefined }, admin());
const identity = () => ({ device_type: 'test-board', serial: `SN-${++serial}` });

/** Enrolls a new key, accepts it and enrolls again for a token. */
async function acceptedDevice(): Promise<{ key: DeviceKey; id: string; token: string }> {
  const key = makeDeviceKey();
  const id = identity();
  const first = await enroll(devices, key, id);
  await setStatus([first.deviceId], AdmissionStatus.ADMISSION_STATUS_ACCEPTED);
  const second = await enroll(devices, key, id);
  return { key, id: second.deviceId, token: second.token };
}

describe('enrollment', () => {
  it('makes an unknown key pending, then gives a token once accepted', async () => {
    const key = makeDeviceKey();
    const id = identity();
    const pending = await enroll(devices, key, id);
    expect(pending.status).toBe(AdmissionStatus.ADMISSION_STATUS_PENDING);
    expect(pending.retryAfterMs).toBe(1234);
    expect(pending.token).toBe('');
    expect(pending.deviceId).toMatch(/^[0-9a-f]{32}$/);
    // The id is derived from the key: asking again gives the same device.
    expect((await enroll(devices, key, id)).deviceId).toBe(pending.deviceId);

    const stored = await getDevice(pending.deviceId);
    expect(stored.status).toBe(AdmissionStatus.ADMISSION_STATUS_PENDING);
    expect(stored.identity).toEqual(id);
    expect(Buffer.from(stored.publicKey).equals(key.publicKey)).toBe(true);

    await setStatus([pending.deviceId], AdmissionStatus.ADMISSION_STATUS_ACCEPTED);
    const accepted = await enroll(devices, key, id);
    expect(accepted.status).toBe(AdmissionStatus.ADMISSION_STATUS_ACCEPTED);
    expect(accepted.token).not.toBe('');
    expect(accepted.tokenExpiresMs).toBeGreaterThan(Date.now() + 59 * 60_000);
  });

  it('refuses a signature made with another key', async () => {
    const key = makeDeviceKey();
    const other = makeDeviceKey();
    const id = identity();
    const { nonce } = await call(devices, devices.challenge, {});
    const signature = sign(null, enrollPayload(nonce, key.publicKey, id), other.privateKey);
    const err = await rejection(call(devices, devices.enroll, { identity: id, publicKey: key.publicKey, nonce, signature }));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.details).toMatch(/signature does not verify/);
  });

  it('refuses a signature over different identity attributes', async () => {
    const key = makeDeviceKey();
    const { nonce } = await call(devices, devices.challenge, {});
    const signature = sign(null, enrollPayload(nonce, key.publicKey, { device_type: 'a' }), key.privateKey);
    const err = await rejection(call(devices, devices.enroll, { identity: { device_type: 'b' }, publicKey: key.publicKey, nonce, signature }));
    expect(err.code).toBe(status.UNAUTHENTICATED);
  });

  it('refuses an expired nonce and a nonce it did not issue', async () => {
    const key = makeDeviceKey();
    const id = identity();
    const attempt = (nonce: string) =>
      rejection(call(devices, devices.enroll, { identity: id, publicKey: key.publicKey, nonce, signature: sign(null, enrollPayload(nonce, key.publicKey, id), key.privateKey) }));

    const stale = issueNonce(t.hub.store.secret, Date.now() - 3 * 60_000).nonce;
    const expired = await attempt(stale);
    expect(expired.code).toBe(status.UNAUTHENTICATED);
    expect(expired.details).toMatch(/nonce expired/);

    const { nonce } = await call(devices, devices.challenge, {});
    const [expiry, random, mac] = nonce.split('.');
    const forgedExpiry = await attempt(`${Number(expiry) + 3_600_000}.${random}.${mac}`);
    expect(forgedExpiry.code).toBe(status.UNAUTHENTICATED);
    expect(forgedExpiry.details).toMatch(/not issued by this hub/);
    expect((await attempt('made-up-nonce')).code).toBe(status.UNAUTHENTICATED);
  });

  it('answers malformed requests with INVALID_ARGUMENT', async () => {
    const key = makeDeviceKey();
    const { nonce } = await call(devices, devices.challenge, {});
    const send = (identity: Record<string, string>, publicKey = key.publicKey, signature = Buffer.alloc(64)) =>
      rejection(call(devices, devices.enroll, { identity, publicKey, nonce, signature }));

    expect((await send({ serial: '1' })).details).toMatch(/device_type/);
    expect((await send({ device_type: 'x' }, Buffer.alloc(31))).details).toMatch(/32-byte/);
    expect((await send({ device_type: 'x' }, key.publicKey, Buffer.alloc(10))).details).toMatch(/64 bytes/);
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    expect((await send({ ...many, device_type: 'x' })).details).toMatch(/at most 32/);
    expect((await send({ device_type: 'x', ['k'.repeat(129)]: 'v' })).code).toBe(status.INVALID_ARGUMENT);
    expect((await send({ device_type: 'x'.repeat(1025) })).code).toBe(status.INVALID_ARGUMENT);
  });

  it('tells a rejected device it is rejected, without a token', async () => {
    const key = makeDeviceKey();
    const id = identity();
    const { deviceId } = await enroll(devices, key, id);
    await setStatus([deviceId], AdmissionStatus.ADMISSION_STATUS_REJECTED);
    const res = await enroll(devices, key, id);
    expect(res.status).toBe(AdmissionStatus.ADMISSION_STATUS_REJECTED);
    expect(res.token).toBe('');
  });

  it('accepts a preauthorized key at once', async () => {
    const key = makeDeviceKey();
    const id = identity();
    const device = await call(operators, operators.preauthorizeDevice, { publicKey: key.publicKey, identity: id }, admin());
    expect(device.status).toBe(AdmissionStatus.ADMISSION_STATUS_ACCEPTED);
    const res = await enroll(devices, key, id);
    expect(res.deviceId).toBe(device.id);
    expect(res.status).toBe(AdmissionStatus.ADMISSION_STATUS_ACCEPTED);
    expect(res.token).not.toBe('');
  });
});

/** Enroll asking the hub to hold the answer up to `waitMs` for an operator's decision. */
async function enrollWaiting(key: DeviceKey, id: Record<string, string>, waitMs: number) {
  const { nonce } = await call(devices, devices.challenge, {});
  const signature = sign(null, enrollPayload(nonce, key.publicKey, id), key.privateKey);
  const md = new Metadata();
  md.set(WAIT_METADATA, String(waitMs));
  const t0 = Date.now();
  const res = await call(devices, devices.enroll, { identity: id, publicKey: key.publicKey, nonce, signature }, md, waitMs + 10_000);
  return { res, tookMs: Date.now() - t0 };
}

describe('pending devices waiting for a decision', () => {
  it('answers a waiting pending device the moment an operator accepts it, with a token', async () => {
    const key = makeDeviceKey();
    const id = identity();
    const first = await enroll(devices, key, id);
    const waiting = enrollWaiting(key, id, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    await setStatus([first.deviceId], AdmissionStatus.ADMISSION_STATUS_ACCEPTED);
    const { res, tookMs } = await waiting;
    expect(res.status).toBe(AdmissionStatus.ADMISSION_STATUS_ACCEPTED);
    expect(res.token).not.toBe('');
    expect(tookMs).toBeGreaterThanOrEqual(250);
    expect(tookMs).toBeLessThan(5_000);
  });

  it('answers PENDING when the wait is over, counting the wait toward the retry interval', async () => {
    const key = makeDeviceKey();
    const id = identity();
    await enroll(devices, key, id);
    const { res, tookMs } = await enrollWaiting(key, id, 400);
    expect(res.status).toBe(AdmissionStatus.ADMISSION_STATUS_PENDING);
    expect(tookMs).toBeGreaterThanOrEqual(380);
    // Few pending devices, and it can wait: a short pause, then it is held again.
    expect(res.retryAfterMs).toBe(1000);
  });

  it('paces pending devices to the poll budget, but answers a new device that can wait at once, asking it back soon', async () => {
    const paced = await startTestHub({ enrollRetryMs: 100, pendingPollsPerSecond: 0.5 });
    const client = deviceClient(paced.hub);
    try {
      // One pending device at half a poll per second: every 2 s.
      expect((await enroll(client, makeDeviceKey(), identity())).retryAfterMs).toBe(2000);
      // A new device that can wait: its next ask is held, so the minimum.
      const key = makeDeviceKey();
      const id = identity();
      const { nonce } = await call(client, client.challenge, {});
      const signature = sign(null, enrollPayload(nonce, key.publicKey, id), key.privateKey);
      const md = new Metadata();
      md.set(WAIT_METADATA, '20000');
      const t0 = Date.now();
      const res = await call(client, client.enroll, { identity: id, publicKey: key.publicKey, nonce, signature }, md, 30_000);
      expect(res.status).toBe(AdmissionStatus.ADMISSION_STATUS_PENDING);
      expect(res.retryAfterMs).toBe(100);
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      client.close();
      await paced.dispose();
    }
  });

  it('answers a known accepted device at once even when it asks to wait', async () => {
    const { key, id } = await acceptedDevice();
    const device = await getDevice(id);
    const { res, tookMs } = await enrollWaiting(key, device.identity, 20_000);
    expect(res.status).toBe(AdmissionStatus.ADMISSION_STATUS_ACCEPTED);
    expect(tookMs).toBeLessThan(3_000);
  });
});

describe('control stream', () => {
  it('says Hello, marks the device online, takes inventory, and marks it offline on close', async () => {
    const { id, token } = await acceptedDevice();
    const stream = openControlStream(devices, token);
    const hello = await stream.next();
    expect(hello.msg).toEqual({ $case: 'hello', hello: { deviceId: id, hubId: t.hub.hubId, heartbeatIntervalMs: 10_000 } });
    await eventually(async () => (await getDevice(id)).online, 5000, 'device online');

    stream.send({ msg: { $case: 'heartbeat', heartbeat: { sentMs: 42 } } });
    expect((await stream.next()).msg).toEqual({ $case: 'heartbeatAck', heartbeatAck: { sentMs: 42 } });

    stream.send({ msg: { $case: 'inventory', inventory: { full: true, attributes: { 'os.id': 'debian', 'cpu.model': 'arm' } } } });
    await eventually(async () => (await getDevice(id)).inventory['os.id'] === 'debian', 5000, 'inventory stored');
    stream.send({ msg: { $case: 'inventory', inventory: { full: false, attributes: { 'os.id': 'alpine', 'cpu.model': '' } } } });
    await eventually(async () => JSON.stringify((await getDevice(id)).inventory) === JSON.stringify({ 'os.id': 'alpine' }), 5000, 'inventory patched');

    const before = await getDevice(id);
    expect(before.lastSeenMs).toBeGreaterThan(0);
    stream.call.end();
    expect((await stream.ended).code).toBe(status.OK);
    const after = await eventually(async () => {
      const d = await getDevice(id);
      return d.online ? undefined : d;
    }, 5000, 'device offline');
    expect(after.revision).toBeGreaterThan(before.revision);
  });

  it('refuses a missing, forged or unknown token with UNAUTHENTICATED', async () => {
    const { token } = await acceptedDevice();
    for (const bad of [undefined, 'nonsense', token.slice(0, -2) + 'xx', token.replace(/^v1\.[0-9a-f]+/, 'v1.00000000000000000000000000000000')]) {
      const s = await openControlStream(devices, bad).ended;
      expect(s.code).toBe(status.UNAUTHENTICATED);
      expect(s.details).toMatch(/enroll again|device token/);
    }
  });

  it('refuses an inventory over the limits with INVALID_ARGUMENT and ends the stream', async () => {
    const { token } = await acceptedDevice();
    const stream = openControlStream(devices, token);
    await stream.next();
    stream.send({ msg: { $case: 'inventory', inventory: { full: true, attributes: { big: 'x'.repeat(4097) } } } });
    const end = await stream.ended;
    expect(end.code).toBe(status.INVALID_ARGUMENT);
    expect(end.details).toMatch(/at most 4096/);
  });

  it('refuses a rejected device, and kicks a connected device the moment it is rejected', async () => {
    const { id, token } = await acceptedDevice();
    const stream = openControlStream(devices, token);
    await stream.next();
    await eventually(async () => (await getDevice(id)).online, 5000, 'device online');

    await setStatus([id], AdmissionStatus.ADMISSION_STATUS_REJECTED);
    const end = await stream.ended;
    expect(end.code).toBe(status.PERMISSION_DENIED);
    expect(end.details).toMatch(/rejected/);
    await eventually(async () => !(await getDevice(id)).online, 5000, 'device offline');

    // Its still-valid token no longer opens a stream.
    const again = await openControlStream(devices, token).ended;
    expect(again.code).toBe(status.PERMISSION_DENIED);
  });

  it('ends a stream that sends garbage bytes and marks the device offline', async () => {
    const { id, token } = await acceptedDevice();
    const raw = devices.makeBidiStreamRequest('/fleet.v1.DeviceService/Connect', (b: Buffer) => b, (b: Buffer) => b, bearer(token));
    const firstMessage = new Promise((resolve) => raw.once('data', resolve));
    raw.on('error', () => {});
    const ended = new Promise<StatusObject>((resolve) => raw.on('status', resolve));
    await firstMessage;
    await eventually(async () => (await getDevice(id)).online, 5000, 'device online');
    raw.write(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect((await ended).code).toBe(status.INTERNAL);
    await eventually(async () => !(await getDevice(id)).online, 5000, 'device offline');
  });

  it('replaces an older stream of the same device with a newer one', async () => {
    const { id, token } = await acceptedDevice();
    const first = openControlStream(devices, token);
    await first.next();
    const second = openControlStream(devices, token);
    await second.next();
    expect((await first.ended).code).toBe(status.ABORTED);
    // The replaced stream must not mark the device offline.
    await new Promise((r) => setTimeout(r, 300));
    expect((await getDevice(id)).online).toBe(true);
    second.call.end();
    await second.ended;
  });
});

describe('timeouts', () => {
  it('refuses an expired token and ends a silent stream after 3 heartbeat intervals', async () => {
    const short = await startTestHub({ tokenTtlMs: 400, heartbeatIntervalMs: 200 });
    const dc = deviceClient(short.hub);
    const cc = consoleClient(short.hub);
    try {
      const key = makeDeviceKey();
      const id = identity();
      const device = await call(cc, cc.preauthorizeDevice, { publicKey: key.publicKey, identity: id }, bearer(short.hub.adminToken));
      const first = await enroll(dc, key, id);

      const silent = openControlStream(dc, first.token);
      await silent.next();
      await eventually(async () => (await call(cc, cc.getDevice, { id: device.id }, bearer(short.hub.adminToken))).online, 5000, 'online');
      const end = await silent.ended;
      expect(end.code).toBe(status.DEADLINE_EXCEEDED);
      expect(end.details).toMatch(/3 heartbeat intervals/);
      await eventually(async () => !(await call(cc, cc.getDevice, { id: device.id }, bearer(short.hub.adminToken))).online, 5000, 'offline');

      await new Promise((r) => setTimeout(r, 500));
      const expired = await openControlStream(dc, first.token).ended;
      expect(expired.code).toBe(status.UNAUTHENTICATED);
      expect(expired.details).toBe('token expired: enroll again');
    } finally {
      dc.close();
      cc.close();
      await short.dispose();
    }
  });
});
