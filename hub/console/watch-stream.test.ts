import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleServiceClient, WatchEvent, WatchRequest } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { enroll, makeDeviceKey } from '../testing/device-identity';
import { bearer, consoleClient, deviceClient, eventually } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';

let t: TestHub;
let devices: DeviceServiceClient;
let operators: ConsoleServiceClient;

beforeAll(async () => {
  t = await startTestHub();
  devices = deviceClient(t.hub);
  operators = consoleClient(t.hub);
});

afterAll(async () => {
  devices?.close();
  operators?.close();
  await t?.dispose();
});

interface Watcher {
  events: WatchEvent[];
  stream: grpc.ClientReadableStream<WatchEvent>;
  status: Promise<grpc.StatusObject>;
  until(what: string, check: (events: WatchEvent[]) => boolean): Promise<void>;
  /** Device events received after Synced. */
  live(): WatchEvent[];
}

function watch(req: WatchRequest, client = operators, token = t.hub.adminToken): Watcher {
  const stream = client.watch(req, bearer(token));
  const events: WatchEvent[] = [];
  stream.on('data', (e: WatchEvent) => events.push(e));
  stream.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  return {
    events,
    stream,
    status,
    until: (what, check) => eventually(() => check(events), 10_000, what).then(() => undefined),
    live: () => events.slice(events.findIndex((e) => e.event?.$case === 'synced') + 1),
  };
}

const newDevice = async (tag: string) => (await enroll(devices, makeDeviceKey(), { device_type: 'watch', tag })).deviceId;
const deviceIds = (events: WatchEvent[]) => events.flatMap((e) => (e.event?.$case === 'device' ? [e.event.device.id] : []));
const synced = (events: WatchEvent[]) => events.some((e) => e.event?.$case === 'synced');

/** Device event revisions must strictly increase: no duplicate, nothing out of order. */
function expectStrictlyIncreasing(events: WatchEvent[]): void {
  const revisions = events.filter((e) => e.event?.$case === 'device').map((e) => e.revision);
  for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBeGreaterThan(revisions[i - 1]);
}

describe('Watch', () => {
  it('resyncs an unknown cursor, then catches up from a known one without duplicates', async () => {
    const a = await newDevice('a');
    const b = await newDevice('b');

    const first = watch({ sinceRevision: 0, hubId: '' });
    await first.until('synced', synced);
    expect(first.events[0].event).toEqual({ $case: 'resync', resync: { hubId: t.hub.hubId } });
    expect(deviceIds(first.events)).toEqual(expect.arrayContaining([a, b]));
    const syncedAt = first.events.at(-1)!;
    expect(syncedAt.event).toEqual({ $case: 'synced', synced: { hubId: t.hub.hubId } });

    // Live: a change after Synced arrives once, with a higher revision.
    await t.hub.store.setAdmission({ ids: [a] }, 'accepted', 'test');
    await first.until('live change of a', () => deviceIds(first.live()).includes(a));
    expect(first.live()).toHaveLength(1);
    expectStrictlyIncreasing(first.events);
    const cursor = first.events.at(-1)!.revision;
    first.stream.cancel();

    // Missed while away: only b changed.
    await t.hub.store.setAdmission({ ids: [b] }, 'rejected', 'test');
    const second = watch({ sinceRevision: cursor, hubId: t.hub.hubId });
    await second.until('synced', synced);
    expect(second.events.some((e) => e.event?.$case === 'resync')).toBe(false);
    expect(deviceIds(second.events)).toEqual([b]);
    expect(second.events[0].event).toMatchObject({ $case: 'device', device: { id: b, status: 3 } });
    expect(second.events.at(-1)!.revision).toBeGreaterThanOrEqual(second.events[0].revision);
    second.stream.cancel();
  });

  it('resyncs for another hub id or a cursor in the future', async () => {
    const head = await t.hub.store.headRevision();
    for (const req of [
      { sinceRevision: head, hubId: 'some-other-hub' },
      { sinceRevision: head + 1000, hubId: t.hub.hubId },
    ]) {
      const w = watch(req);
      await w.until('synced', synced);
      expect(w.events[0].event?.$case).toBe('resync');
      expect(deviceIds(w.events).length).toBeGreaterThan(0);
      w.stream.cancel();
    }
  });

  it('loses nothing and repeats nothing while changes land during the backlog', async () => {
    const start = await t.hub.store.headRevision();
    const w = watch({ sinceRevision: start, hubId: t.hub.hubId });
    const made = await Promise.all(Array.from({ length: 30 }, (_, i) => newDevice(`burst-${i}`)));
    await w.until('all burst devices', (events) => made.every((id) => deviceIds(events).includes(id)));
    expectStrictlyIncreasing(w.events);
    expect(new Set(deviceIds(w.events)).size).toBe(deviceIds(w.events).length);
    w.stream.cancel();
  });

  it('never repeats a revision when changes commit while a multi-page backlog is being sent', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 1200; i++) {
      const key = makeDeviceKey();
      ids.push((await t.hub.store.preauthorizeDevice({ id: `bulk-${i}`, publicKey: key.publicKey, identity: { device_type: 'bulk' } }, 'test')).id);
    }
    const w = watch({ sinceRevision: 0, hubId: t.hub.hubId });
    let changes = 0;
    while (!synced(w.events)) {
      await t.hub.store.setAdmission({ ids: [ids[changes % ids.length]] }, changes % 2 ? 'accepted' : 'pending', 'test');
      changes++;
      await new Promise((r) => setImmediate(r));
    }
    const last = ids[(changes - 1) % ids.length];
    const finalStatus = (await t.hub.store.getDevice(last))!.status === 'accepted' ? 2 : 1;
    await w.until('last change seen', (events) => events.some((e) => e.event?.$case === 'device' && e.event.device.id === last && e.event.device.status === finalStatus));
    expect(changes).toBeGreaterThan(5);
    expectStrictlyIncreasing(w.events);
    w.stream.cancel();
  });

  it('ends a watcher that stops reading with RESOURCE_EXHAUSTED instead of buffering without bound', async () => {
    const small = await startTestHub({ watchMaxLag: 10 });
    const client = consoleClient(small.hub);
    try {
      const key = makeDeviceKey();
      const { id } = await small.hub.store.preauthorizeDevice({ id: 'slow-device', publicKey: key.publicKey, identity: { device_type: 'x' } }, 'test');
      // Large snapshots fill the HTTP/2 window and grpc-js buffer quickly.
      const big = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, 'x'.repeat(4000)]));
      await small.hub.store.updateInventory(id, big, true, 'test');
      const w = watch({ sinceRevision: await small.hub.store.headRevision(), hubId: small.hub.hubId }, client, small.hub.adminToken);
      await w.until('synced', synced);
      w.stream.pause();
      for (let i = 0; i < 80; i++) {
        await small.hub.store.setAdmission({ ids: [id] }, i % 2 ? 'pending' : 'accepted', 'test');
        await new Promise((r) => setImmediate(r));
      }
      w.stream.resume();
      const end = await w.status;
      expect(end.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(end.details).toMatch(/reconnect to resync/);
      expect(w.live().length).toBeLessThan(80);
    } finally {
      client.close();
      await small.dispose();
    }
  });
});
