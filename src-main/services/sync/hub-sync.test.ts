import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningHub } from '../../../hub/hub';
import type { RunningSimulator } from '../../../agent/sim/simulator';
import type { ConsoleEvent } from '../../common/console-api';
import { createConsoleApp, type ConsoleApp } from '../console-app';
import { admitOnHub, hubDevices, startTestDevices, startTestHub, TempDirs, waitFor } from '../testing/test-fleet';

// The cache fed by a REAL hub (TLS gRPC, SQLite) and real simulated devices.

const temp = new TempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  temp.removeAll();
});

async function hubWithDevices(devices: number): Promise<{ hub: RunningHub; sim: RunningSimulator; dir: string }> {
  const dir = temp.make('sync-hub-');
  const hub = await startTestHub(join(dir, 'hub'));
  cleanups.push(() => hub.close());
  const sim = await startTestDevices(hub, join(dir, 'devices'), devices);
  cleanups.push(() => sim.close());
  await waitFor(`${devices} devices enrolled`, async () => (await hubDevices(hub)).length === devices);
  return { hub, sim, dir };
}

async function openApp(userDataDir: string, lines: string[] = [], events: ConsoleEvent[] = []): Promise<ConsoleApp> {
  const app = await createConsoleApp({ userDataDir, log: (l) => lines.push(l) });
  app.subscribe((e) => events.push(e));
  cleanups.push(() => app.close());
  return app;
}

async function connect(app: ConsoleApp, hub: RunningHub): Promise<void> {
  const probe = await app.api.connection.probe(hub.address);
  await app.api.connection.connect({ hub: hub.address, token: hub.adminToken, fingerprint: probe.fingerprint });
  await waitFor('console online', async () => (await app.api.connection.state()).phase === 'online');
}

/** The cache agrees with the hub: same ids, same revisions, nothing extra. */
async function expectCacheMatchesHub(app: ConsoleApp, hub: RunningHub): Promise<void> {
  const onHub = (await hubDevices(hub)).map((d) => [d.id, d.revision, d.online]).sort();
  const page = await app.api.devices.query({ limit: 1000 });
  expect(page.total).toBe(onHub.length);
  expect(page.rows.map((r) => [r.id, r.revision, r.online]).sort()).toEqual(onHub);
}

describe('hub sync against a real hub', () => {
  it('fills the cache, then catches up the backlog after a console restart without duplicates', async () => {
    const { hub, dir } = await hubWithDevices(3);
    const userDataDir = temp.make('console-');
    const events: ConsoleEvent[] = [];
    const app1 = await openApp(userDataDir, [], events);
    await connect(app1, hub);
    await waitFor('3 pending devices cached', async () => (await app1.api.devices.query({})).counts.pending === 3);
    await expectCacheMatchesHub(app1, hub);
    // Debounced change events name the rows that changed.
    const cachedIds = (await app1.api.devices.query({})).rows.map((r) => r.id);
    await waitFor('devices-changed events naming every cached device', () => {
      const named = new Set(events.flatMap((e) => (e.type === 'devices-changed' ? e.ids : [])));
      return cachedIds.every((id) => named.has(id));
    });
    const cursor = (await app1.api.connection.state()).revision;
    expect(cursor).toBeGreaterThan(0);
    await app1.close();

    // While the console is closed: two devices admitted elsewhere (they come
    // online), two new devices enroll.
    const ids = (await hubDevices(hub)).map((d) => d.id).sort();
    await admitOnHub(hub, ids.slice(0, 2));
    const more = await startTestDevices(hub, join(dir, 'devices'), 2, 4);
    cleanups.push(() => more.close());
    await waitFor('admitted devices online on the hub', async () => (await hubDevices(hub)).filter((d) => d.online).length === 2 && (await hubDevices(hub)).length === 5);

    const lines: string[] = [];
    const app2 = await openApp(userDataDir, lines);
    // The saved context resumes at once, from the cursor: a backlog, not a resync.
    await waitFor('console online again', async () => (await app2.api.connection.state()).phase === 'online');
    await waitFor('backlog applied', async () => (await app2.api.devices.query({ status: 'accepted' })).rows.filter((r) => r.online).length === 2);
    await waitFor('new devices cached', async () => (await app2.api.devices.query({})).total === 5);
    expect(lines.find((l) => l.includes('watching changes since revision'))).toContain(`since revision ${cursor}`);
    expect(lines.some((l) => l.includes('resync'))).toBe(false);
    await expectCacheMatchesHub(app2, hub);
    const accepted = await app2.api.devices.get(ids[0]);
    expect(accepted).toMatchObject({ status: 'accepted', online: true, deviceType: 'sim-device' });
    expect(Object.keys(accepted!.inventory).length).toBeGreaterThan(3);
  });

  it('resyncs when the console moves to another hub: only the new fleet remains', async () => {
    const a = await hubWithDevices(3);
    const b = await hubWithDevices(2);
    const app = await openApp(temp.make('console-'));
    await connect(app, a.hub);
    await waitFor('hub A fleet cached', async () => (await app.api.devices.query({})).total === 3);

    await connect(app, b.hub);
    await waitFor('hub B fleet only', async () => (await app.api.connection.state()).hubId === b.hub.hubId && (await app.api.devices.query({})).total === 2);
    await expectCacheMatchesHub(app, b.hub);
    const state = await app.api.connection.state();
    expect(state).toMatchObject({ phase: 'online', hub: b.hub.address, hubId: b.hub.hubId, fingerprint: b.hub.fingerprint, error: '', embedded: false });
  });

  it('serves the cached fleet as offline data when the hub is down at start, then catches up when it returns', async () => {
    const { hub, dir } = await hubWithDevices(2);
    const userDataDir = temp.make('console-');
    const app1 = await openApp(userDataDir);
    await connect(app1, hub);
    await waitFor('fleet cached', async () => (await app1.api.devices.query({})).total === 2);
    await app1.close();
    const ids = (await hubDevices(hub)).map((d) => d.id);
    await hub.close();

    const events: ConsoleEvent[] = [];
    const app2 = await openApp(userDataDir, [], events);
    const offline = await waitFor('offline with an error', async () => {
      const s = await app2.api.connection.state();
      return s.phase === 'offline' && s.error ? s : null;
    });
    expect(offline.error).toMatch(/unreachable|ECONNREFUSED|connect/i);
    expect(offline.syncedAtMs).toBeGreaterThan(0);
    expect((await app2.api.devices.query({})).total).toBe(2);
    expect((await app2.api.devices.get(ids[0]))?.id).toBe(ids[0]);
    await expect(app2.api.devices.accept([ids[0]])).rejects.toThrow(/hub unreachable — admission needs the hub/);
    expect(events.some((e) => e.type === 'connection' && e.state.phase === 'offline')).toBe(true);

    // The hub comes back on the same address and folder; a device was
    // admitted meanwhile through another route.
    const again = await startTestHub(join(dir, 'hub'), hub.address);
    cleanups.push(() => again.close());
    await admitOnHub(again, [ids[0]]);
    await waitFor('console back online', async () => (await app2.api.connection.state()).phase === 'online', 20_000);
    await waitFor('admission caught up', async () => (await app2.api.devices.get(ids[0]))?.status === 'accepted');
    await expectCacheMatchesHub(app2, again);
  });
});
