import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store';
import { makeTempDir } from '../testing/test-hub';
import { EnrollPacing, pendingRetryMs } from './enroll-pacing';

describe('pendingRetryMs', () => {
  it('spreads pending devices to the poll budget, never below the minimum', () => {
    expect(pendingRetryMs(5, 1000, 200)).toBe(1000);
    expect(pendingRetryMs(10_000, 5000, 200)).toBe(50_000);
    expect(pendingRetryMs(100_000, 5000, 200)).toBe(500_000);
    expect(pendingRetryMs(1e9, 5000, 200)).toBe(3_600_000);
  });

  it('counts time already spent waiting on the hub toward the interval', () => {
    expect(pendingRetryMs(10_000, 5000, 200, 40_000)).toBe(10_000);
    expect(pendingRetryMs(10_000, 5000, 200, 50_000)).toBe(5000);
  });
});

describe('EnrollPacing', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = makeTempDir('fleet-pacing-');
    store = openSqliteStore(join(dir, 'hub.db'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows the number of pending devices in the database, re-counted once a second', async () => {
    const pacing = new EnrollPacing(store, 100, 2);
    const t0 = 1_000_000;
    expect(await pacing.retryAfterMs(0, t0)).toBe(100);
    for (let i = 1; i <= 10; i++) await store.enrollDevice({ id: `d${i}`, publicKey: Buffer.alloc(32, i), identity: { device_type: 'b' } }, 'test');
    await store.setAdmission({ ids: ['d10'] }, 'accepted', 'test');
    expect(await pacing.retryAfterMs(0, t0 + 500)).toBe(100);
    expect(await pacing.retryAfterMs(0, t0 + 1000)).toBe(4500);
    expect(await pacing.retryAfterMs(4000, t0 + 1000)).toBe(500);
  });

  it('refuses a budget that is not positive', () => {
    expect(() => new EnrollPacing(store, 100, 0)).toThrow('pending polls per second must be > 0, got 0');
  });
});
