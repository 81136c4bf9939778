import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionStatus, type Device } from '../../../proto/gen/fleet/v1/common';
import { ConsoleServiceService, Role, type ConsoleServiceServer, type WatchEvent, type WatchRequest } from '../../../proto/gen/fleet/v1/console';
import { DeviceCache } from '../cache/device-cache';
import { fakeDevice } from '../cache/test-fixtures';
import { startTestHub, TempDirs, waitFor } from '../testing/test-fleet';
import { HubSync, type SyncStatus } from './hub-sync';

// Change-feed cases a real hub does not produce on demand (a resync cut off
// half way, replayed revisions, a burst of thousands of events), played by a
// scripted ConsoleService over real TLS gRPC into a real cache file.

const temp = new TempDirs();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  temp.removeAll();
});

type Script = (call: grpc.ServerWritableStream<WatchRequest, WatchEvent>) => void;

/** A feed server whose n-th Watch call runs scripts[n]. */
async function scriptedHub(scripts: Script[]) {
  // Borrow a real hub's TLS identity, then serve the script with it.
  const dir = join(temp.make('feed-hub-'), 'hub');
  const real = await startTestHub(dir);
  await real.close();
  const requests: WatchRequest[] = [];
  const impl: Partial<ConsoleServiceServer> = {
    whoAmI: (_call, cb) => cb(null, { operator: 'admin', role: Role.ROLE_ADMIN, hubId: 'hub-new', revision: 0, hubVersion: 'test' }),
    watch: (call) => {
      requests.push(call.request);
      const script = scripts[requests.length - 1];
      if (script) script(call);
      else call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'no more scripts' });
    },
  };
  const server = new grpc.Server();
  server.addService(ConsoleServiceService, impl as ConsoleServiceServer);
  const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(join(dir, 'hub.crt')), private_key: readFileSync(join(dir, 'hub.key')) }], false);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  cleanups.push(() => void server.forceShutdown());
  return { hub: `127.0.0.1:${port}`, certPem: readFileSync(join(dir, 'hub.crt'), 'utf8'), requests };
}

function device(i: number, revision: number, overrides: Partial<Device> = {}): Device {
  const d = fakeDevice(i);
  return {
    id: d.id,
    status: AdmissionStatus.ADMISSION_STATUS_PENDING,
    identity: d.identity,
    publicKey: Buffer.alloc(32, 7),
    inventory: d.inventory,
    online: false,
    lastSeenMs: 1,
    createdMs: 1,
    updatedMs: 1,
    revision,
    ...overrides,
  };
}

const ev = {
  device: (d: Device): WatchEvent => ({ revision: d.revision, event: { $case: 'device', device: d } }),
  resync: (revision: number): WatchEvent => ({ revision, event: { $case: 'resync', resync: { hubId: 'hub-new' } } }),
  synced: (revision: number): WatchEvent => ({ revision, event: { $case: 'synced', synced: { hubId: 'hub-new' } } }),
};

function startSync(hub: { hub: string; certPem: string }, cache: DeviceCache) {
  const statuses: SyncStatus[] = [];
  const changes: { revision: number; ids: string[]; atMs: number }[] = [];
  const sync = new HubSync({
    cache,
    target: { hub: hub.hub, token: 't', caPem: hub.certPem },
    log: () => {},
    onStatus: (s) => statuses.push(s),
    onDevicesChanged: (revision, ids) => changes.push({ revision, ids, atMs: performance.now() }),
    backoff: { baseMs: 20, maxMs: 50 },
  });
  sync.start();
  cleanups.push(() => sync.stop());
  return { sync, statuses, changes };
}

function openCache(): DeviceCache {
  const cache = new DeviceCache(join(temp.make('feed-cache-'), 'cache.db'));
  cleanups.push(() => cache.close());
  return cache;
}

describe('HubSync with a scripted feed', () => {
  it('a resync cut off half way leaves the cursor alone, restarts from zero and ends with exactly the snapshot', async () => {
    const cache = openCache();
    cache.transaction(() => {
      cache.upsert(fakeDevice(90, { hubId: 'hub-old', revision: 500 }));
      cache.upsert(fakeDevice(1, { hubId: 'hub-old', revision: 400 }));
    });
    cache.setMeta({ hubId: 'hub-old', revision: 500 });
    const hub = await scriptedHub([
      (call) => {
        call.write(ev.resync(30));
        call.write(ev.device(device(1, 10)));
        call.write(ev.device(device(2, 20)));
        setTimeout(() => call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'cut' }), 50);
      },
      (call) => {
        call.write(ev.resync(30));
        for (const [i, rev] of [[1, 10], [2, 20], [3, 30]]) call.write(ev.device(device(i, rev)));
        call.write(ev.synced(30));
      },
    ]);
    const { statuses } = startSync(hub, cache);
    await waitFor('online', () => statuses.some((s) => s.phase === 'online'));
    // The first stream was cut: it must not have moved the cursor past the
    // unfinished snapshot, and the retry asked for everything again.
    expect(hub.requests.map((r) => [r.sinceRevision, r.hubId])).toEqual([[0, 'hub-old'], [0, 'hub-new']]);
    expect(statuses.some((s) => s.phase === 'offline' && /cut/.test(s.error))).toBe(true);
    expect(cache.query({}).rows.map((r) => [r.id, r.revision])).toEqual([['dev-000001', 10], ['dev-000002', 20], ['dev-000003', 30]]);
    expect(cache.meta()).toMatchObject({ hubId: 'hub-new', revision: 30, resyncPending: false });
  });

  it('ignores replayed older revisions and resumes from its cursor', async () => {
    const cache = openCache();
    const hub = await scriptedHub([
      (call) => {
        call.write(ev.resync(5));
        call.write(ev.device(device(1, 5, { online: true })));
        call.write(ev.synced(5));
        // live: an older snapshot of the same device arrives late
        setTimeout(() => call.write(ev.device(device(1, 4, { online: false }))), 20);
        setTimeout(() => call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'restart' }), 200);
      },
      (call) => {
        call.write(ev.device(device(1, 6, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, online: true })));
        call.write(ev.synced(6));
      },
    ]);
    const { statuses } = startSync(hub, cache);
    await waitFor('second stream synced', () => hub.requests.length === 2 && cache.meta().revision === 6);
    expect(hub.requests[1]).toEqual({ sinceRevision: 5, hubId: 'hub-new' });
    expect(cache.get('dev-000001')).toMatchObject({ revision: 6, status: 'accepted', online: true });
    expect(cache.query({}).total).toBe(1);
    expect(statuses.at(-1)).toMatchObject({ phase: 'online', error: '', revision: 6 });
  });

  it('applies a burst whole and reports it in debounced events', async () => {
    const cache = openCache();
    const N = 3000;
    const hub = await scriptedHub([
      (call) => {
        call.write(ev.resync(0));
        call.write(ev.synced(0));
        setTimeout(() => {
          for (let i = 1; i <= N; i++) call.write(ev.device(device(i, i)));
        }, 150);
      },
    ]);
    const { changes } = startSync(hub, cache);
    await waitFor('burst applied', () => cache.meta().revision === N);
    await new Promise((r) => setTimeout(r, 250));
    expect(cache.query({}).total).toBe(N);
    // Debounced: at most one event per ~100 ms however fast rows arrive;
    // every change is reported, by id or, past 500 ids, as "anything changed".
    const gaps = changes.slice(1).map((c, k) => c.atMs - changes[k].atMs);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(90);
    expect(changes.length).toBeLessThan(N / 50);
    expect(changes.at(-1)!.revision).toBe(N);
    const named = new Set(changes.flatMap((c) => c.ids));
    expect(changes.some((c) => c.ids.length === 0) || named.size === N).toBe(true);
    expect(changes.every((c) => c.ids.length <= 500)).toBe(true);
  });

  it('stops promptly even while the hub never answers', async () => {
    const cache = openCache();
    const hub = await scriptedHub([() => {}]); // Watch opens and stays silent
    const { sync, statuses } = startSync(hub, cache);
    await waitFor('watch open', () => hub.requests.length === 1);
    const t0 = Date.now();
    await sync.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(statuses.every((s) => s.phase !== 'online')).toBe(true);
  });
});
