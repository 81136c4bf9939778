import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../testing/test-hub';
import { runMigrations } from './migration-runner';
import { migrations } from './migrations';
import { openSqliteStore, type SqliteStore } from './sqlite-store';
import type { HubEvent } from './store';

let dir: string;
let store: SqliteStore;
const key = (n: number) => Buffer.alloc(32, n);

beforeEach(() => {
  dir = makeTempDir('fleet-store-');
  store = openSqliteStore(join(dir, 'hub.db'));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteStore', () => {
  it('applies each migration once and refuses a database from a newer hub', async () => {
    const db = new Database(join(dir, 'hub.db'));
    try {
      const latest = migrations[migrations.length - 1].version;
      expect(runMigrations(db, migrations)).toEqual({ from: latest, to: latest });
      db.prepare("INSERT INTO schema_version (version, name, applied) VALUES (99, 'future', 0)").run();
      expect(() => runMigrations(db, migrations)).toThrow(/newer than this hub knows/);
    } finally {
      db.close();
    }
  });

  it('applies batched inventory reports in order, in one transaction, with an event only per change', async () => {
    for (const id of ['d1', 'd2']) await store.preauthorizeDevice({ id, publicKey: key(id === 'd1' ? 1 : 2), identity: { device_type: 't' } }, 'ops');
    await store.applyInventories([{ deviceId: 'd1', attributes: { a: '1' }, full: true, actor: 'device:d1' }]);
    const seen: HubEvent[][] = [];
    store.subscribe((events) => seen.push(events));
    await store.applyInventories([
      // Unchanged after the write above: no event.
      { deviceId: 'd1', attributes: { a: '1' }, full: true, actor: 'device:d1' },
      // A patch that only means something after the full report before it.
      { deviceId: 'd2', attributes: { x: '1', y: '2' }, full: true, actor: 'device:d2' },
      { deviceId: 'd2', attributes: { y: '' }, full: false, actor: 'device:d2' },
      { deviceId: 'gone', attributes: { z: '1' }, full: true, actor: 'device:gone' },
    ]);
    expect(seen.map((batch) => batch.map((e) => `${e.kind} ${e.entityId}`))).toEqual([['device.inventory d2', 'device.inventory d2']]);
    expect((await store.getDevice('d2'))!.inventory).toEqual({ x: '1' });
    expect((await store.getDevice('d1'))!.inventory).toEqual({ a: '1' });
    // Nothing changed at all: no transaction, no event.
    await store.applyInventories([{ deviceId: 'd2', attributes: { x: '1' }, full: false, actor: 'device:d2' }]);
    expect(seen).toHaveLength(1);
  });

  it('appends one event per change, in the same order listeners see them', async () => {
    const seen: HubEvent[] = [];
    store.subscribe((events) => seen.push(...events));
    const head = await store.headRevision();
    const device = await store.enrollDevice({ id: 'd1', publicKey: key(1), identity: { device_type: 't' } }, 'device:d1');
    expect(device).toMatchObject({ status: 'pending', revision: head + 1 });
    // Enrolling again changes nothing and logs nothing.
    await store.enrollDevice({ id: 'd1', publicKey: key(1), identity: { device_type: 't' } }, 'device:d1');
    await expect(store.enrollDevice({ id: 'd1', publicKey: key(2), identity: { device_type: 't' } }, 'x')).rejects.toThrow(/different public key/);

    await store.setAdmission({ ids: ['d1'] }, 'accepted', 'alice');
    expect(await store.updateInventory('d1', { a: '1', b: '2' }, true, 'device:d1')).toBeDefined();
    expect(await store.updateInventory('d1', { b: '2' }, false, 'device:d1')).toBeUndefined();
    expect(await store.updateInventory('d1', { a: '' }, false, 'device:d1')).toMatchObject({ inventory: { b: '2' } });

    const log = await store.eventsAfter(head, 100);
    expect(log.map((e) => [e.kind, e.actor])).toEqual([
      ['device.enrolled', 'device:d1'],
      ['device.admission', 'alice'],
      ['device.inventory', 'device:d1'],
      ['device.inventory', 'device:d1'],
    ]);
    expect(seen.map((e) => e.revision)).toEqual(log.map((e) => e.revision));
    // Each snapshot carries the revision of its own event.
    expect(log.map((e) => e.device!.revision)).toEqual(log.map((e) => e.revision));
    expect((await store.getDevice('d1'))!.revision).toBe(log.at(-1)!.revision);
  });

  it('writes presence in batches: events for transitions only, last-seen silently', async () => {
    await store.preauthorizeDevice({ id: 'p1', publicKey: key(3), identity: { device_type: 't' } }, 'op');
    const head = await store.headRevision();
    await store.applyPresence([
      { deviceId: 'p1', online: true, lastSeenMs: 1000, actor: 'device:p1' },
      { deviceId: 'p1', lastSeenMs: 2000, actor: 'device:p1' },
      { deviceId: 'ghost', online: true, lastSeenMs: 2000, actor: 'device:ghost' },
    ]);
    expect((await store.eventsAfter(head, 10)).map((e) => e.kind)).toEqual(['device.online']);
    expect(await store.getDevice('p1')).toMatchObject({ online: true, lastSeenMs: 2000 });
    await store.applyPresence([{ deviceId: 'p1', lastSeenMs: 3000, actor: 'device:p1' }]);
    // An older last-seen time (batches may overlap) and an unknown device change nothing.
    await store.applyPresence([
      { deviceId: 'p1', lastSeenMs: 2500, actor: 'device:p1' },
      { deviceId: 'ghost', lastSeenMs: 4000, actor: 'device:ghost' },
    ]);
    expect(await store.getDevice('ghost')).toBeUndefined();
    expect(await store.headRevision()).toBe(head + 1);
    expect(await store.markAllOffline('hub')).toBe(1);
    expect(await store.getDevice('p1')).toMatchObject({ online: false, lastSeenMs: 3000 });
  });

  it('keeps revisions unique when another process writes to the same database', async () => {
    const other = openSqliteStore(join(dir, 'hub.db'));
    try {
      expect(other.hubId).toBe(store.hubId);
      await other.createOperator('bob', 'viewer', 'hub');
      await store.enrollDevice({ id: 'd2', publicKey: key(4), identity: { device_type: 't' } }, 'device:d2');
      const revisions = (await store.eventsAfter(0, 100)).map((e) => e.revision);
      expect(new Set(revisions).size).toBe(revisions.length);
    } finally {
      await other.close();
    }
  });

  it('creates operators whose token resolves to them, storing only a hash', async () => {
    const { token } = await store.createOperator('carol', 'operator', 'admin');
    expect(await store.operatorByToken(token)).toEqual({ name: 'carol', role: 'operator' });
    expect(await store.operatorByToken(token + 'x')).toBeUndefined();
    await expect(store.createOperator('carol', 'viewer', 'admin')).rejects.toThrow(/already exists/);
    await expect(store.createOperator('bad name!', 'viewer', 'admin')).rejects.toThrow(/not valid/);
    await expect(store.createOperator('dave', 'root' as never, 'admin')).rejects.toThrow(/role "root"/);
  });
});
