import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceCache } from './device-cache';
import { fakeDevice } from './test-fixtures';

const dirs: string[] = [];
function openCache(): DeviceCache {
  const dir = mkdtempSync(join(tmpdir(), 'device-cache-'));
  dirs.push(dir);
  return new DeviceCache(join(dir, 'cache.db'));
}
afterAll(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('DeviceCache writes', () => {
  let cache: DeviceCache;
  afterEach(() => cache.close());

  it('upserts only newer revisions, so replays are harmless', () => {
    cache = openCache();
    expect(cache.upsert(fakeDevice(1, { revision: 5, online: false }))).toBe(true);
    expect(cache.upsert(fakeDevice(1, { revision: 5, online: true }))).toBe(false);
    expect(cache.upsert(fakeDevice(1, { revision: 4, online: true }))).toBe(false);
    expect(cache.get('dev-000001')!.online).toBe(false);
    expect(cache.upsert(fakeDevice(1, { revision: 6, online: true }))).toBe(true);
    expect(cache.get('dev-000001')).toMatchObject({ online: true, revision: 6, identity: { device_type: 'sensor' }, inventory: { hostname: 'host-1' } });
    expect(cache.query({}).total).toBe(1);
  });

  it('resync: stale rows are replaced whatever their revision and the rest deleted', () => {
    cache = openCache();
    for (let i = 0; i < 4; i++) cache.upsert(fakeDevice(i, { revision: 100 + i }));
    cache.markAllStale();
    // A new hub may number its revisions lower than the old one did.
    expect(cache.upsert(fakeDevice(1, { revision: 1, hubId: 'hub-b' }))).toBe(true);
    expect(cache.upsert(fakeDevice(2, { revision: 2, hubId: 'hub-b' }))).toBe(true);
    expect(cache.deleteStale()).toBe(2);
    expect(cache.query({}).rows.map((r) => [r.id, r.revision])).toEqual([['dev-000001', 1], ['dev-000002', 2]]);
  });

  it('keeps meta across reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'device-cache-'));
    dirs.push(dir);
    cache = new DeviceCache(join(dir, 'cache.db'));
    expect(cache.meta()).toEqual({ hubId: '', revision: 0, syncedAtMs: 0, resyncPending: false });
    cache.setMeta({ hubId: 'h1', revision: 42, syncedAtMs: 7, resyncPending: true });
    cache.close();
    cache = new DeviceCache(join(dir, 'cache.db'));
    expect(cache.meta()).toEqual({ hubId: 'h1', revision: 42, syncedAtMs: 7, resyncPending: true });
  });

  it('rolls a failed transaction back whole', () => {
    cache = openCache();
    expect(() =>
      cache.transaction(() => {
        cache.upsert(fakeDevice(1));
        cache.setMeta({ revision: 9 });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(cache.query({}).total).toBe(0);
    expect(cache.meta().revision).toBe(0);
  });
});

describe('DeviceCache.query', () => {
  let cache: DeviceCache;
  const N = 30;
  beforeAll(() => {
    cache = openCache();
    cache.transaction(() => {
      for (let i = 0; i < N; i++) cache.upsert(fakeDevice(i));
    });
  });
  afterAll(() => cache.close());

  it('pages in id order by default', () => {
    const page = cache.query({ limit: 10, offset: 10 });
    expect(page.total).toBe(N);
    expect(page.offset).toBe(10);
    expect(page.rows.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, k) => `dev-${String(k + 10).padStart(6, '0')}`));
    expect(page.counts).toEqual({ pending: 10, accepted: 10, rejected: 10 });
  });

  it('filters by status and keeps counts over the whole cache', () => {
    const page = cache.query({ status: 'accepted', limit: 100 });
    expect(page.total).toBe(10);
    expect(page.rows.every((r) => r.status === 'accepted')).toBe(true);
    expect(page.counts).toEqual({ pending: 10, accepted: 10, rejected: 10 });
  });

  it('matches text case-insensitively in id, type, OS, identity and inventory values', () => {
    expect(cache.query({ text: 'DEV-000007' }).rows.map((r) => r.id)).toEqual(['dev-000007']);
    expect(cache.query({ text: 'Camera' }).total).toBe(7); // i % 4 === 2 for i < 30
    expect(cache.query({ text: 'bookworm' }).total).toBe(10);
    expect(cache.query({ text: 'host-29' }).rows.map((r) => r.id)).toEqual(['dev-000029']); // inventory value
    expect(cache.query({ text: `sn${(5 * 2654435761) % 1_000_000_007}` }).rows.map((r) => r.id)).toEqual(['dev-000005']); // identity value
    expect(cache.query({ text: 'camera', status: 'pending' }).rows.map((r) => r.id)).toEqual(['dev-000006', 'dev-000018']);
  });

  it('treats LIKE wildcards in the text literally', () => {
    expect(cache.query({ text: '%' }).total).toBe(0);
    expect(cache.query({ text: 'dev_0' }).total).toBe(0);
  });

  it('sorts by every column in both directions, ties broken by id', () => {
    for (const [sort, get] of [
      ['lastSeenMs', (r: { lastSeenMs: number }) => r.lastSeenMs],
      ['deviceType', (r: { deviceType: string }) => r.deviceType],
      ['os', (r: { os: string }) => r.os],
      ['status', (r: { status: string }) => r.status],
      ['online', (r: { online: boolean }) => Number(r.online)],
      ['id', (r: { id: string }) => r.id],
    ] as const) {
      for (const descending of [false, true]) {
        const rows = cache.query({ sort, descending, limit: N }).rows;
        expect(rows).toHaveLength(N);
        const keys = rows.map((r) => [(get as (r: unknown) => string | number)(r), r.id] as const);
        const sorted = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
        if (descending) sorted.reverse();
        expect(keys, `${sort} ${descending ? 'desc' : 'asc'}`).toEqual(sorted);
      }
    }
  });

  it('refuses bad input with a clear message', () => {
    expect(() => cache.query({ sort: 'id; DROP TABLE devices' as never })).toThrow(/sort must be one of/);
    expect(() => cache.query({ status: 'gone' as never })).toThrow(/status must be one of/);
    expect(() => cache.query({ limit: -1 })).toThrow(/limit must be an integer/);
    expect(() => cache.query({ offset: 1.5 })).toThrow(/offset must be an integer/);
    expect(() => cache.get('')).toThrow(/non-empty/);
    expect(cache.get('nope')).toBeNull();
  });
});

describe('DeviceCache at 100,000 devices', () => {
  it('serves a filtered, sorted page in well under 100 ms', () => {
    const cache = openCache();
    try {
      cache.transaction(() => {
        for (let i = 0; i < 100_000; i++) cache.upsert(fakeDevice(i));
      });
      const run = () => cache.query({ status: 'pending', text: 'camera', sort: 'lastSeenMs', descending: true, offset: 200, limit: 100 });
      run(); // warm the statement cache and the page cache
      const times: number[] = [];
      let page = run();
      for (let k = 0; k < 5; k++) {
        const t0 = performance.now();
        page = run();
        times.push(performance.now() - t0);
      }
      expect(page.total).toBe(8333); // i % 12 === 6
      expect(page.rows).toHaveLength(100);
      expect(page.rows.every((r) => r.status === 'pending' && r.deviceType === 'camera')).toBe(true);
      const median = times.sort((a, b) => a - b)[2];
      console.log(`filtered page over 100k rows: median ${median.toFixed(1)} ms`);
      expect(median).toBeLessThan(250);

      const t0 = performance.now();
      const unfiltered = cache.query({ sort: 'lastSeenMs', offset: 50_000, limit: 100 });
      expect(performance.now() - t0).toBeLessThan(250);
      expect(unfiltered.total).toBe(100_000);
      expect(unfiltered.rows).toHaveLength(100);
    } finally {
      cache.close();
    }
  }, 60_000);
});
