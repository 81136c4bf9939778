import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DevicePage, DeviceQuery, DeviceRow } from '../src-main/common/console-api';
import { BLOCK_ROWS, DeviceWindowLoader } from './device-window-loader';

const row = (i: number, status: DeviceRow['status'] = 'pending'): DeviceRow => ({
  id: `d-${String(i).padStart(6, '0')}`, status, online: false, deviceType: 't', os: '', lastSeenMs: 0, createdMs: 0, revision: i,
});

/** A fleet of `size` devices behind a query function that records what was asked. */
function fleet(size: number) {
  let rows = Array.from({ length: size }, (_, i) => row(i));
  const asked: DeviceQuery[] = [];
  const pending: (() => void)[] = [];
  let hold = false;
  const query = (q: DeviceQuery): Promise<DevicePage> => {
    asked.push(q);
    const answer = () => {
      const matching = rows.filter((r) => !q.status || r.status === q.status);
      return { total: matching.length, offset: q.offset!, rows: matching.slice(q.offset!, q.offset! + q.limit!), counts: { pending: rows.length, accepted: 0, rejected: 0 } };
    };
    if (!hold) return Promise.resolve(answer());
    return new Promise((resolve) => pending.push(() => resolve(answer())));
  };
  return {
    query,
    asked,
    setRows: (r: DeviceRow[]) => (rows = r),
    hold: () => (hold = true),
    release: () => pending.splice(0).forEach((f) => f()),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  vi.useRealTimers();
});

describe('DeviceWindowLoader', () => {
  it('fetches only the blocks on screen', async () => {
    const f = fleet(100_000);
    const loader = new DeviceWindowLoader(f.query, {});
    loader.show(0, 30);
    await settle();
    expect(f.asked).toEqual([{ offset: 0, limit: BLOCK_ROWS }]);
    expect(loader.snapshot().total).toBe(100_000);
    expect(loader.rowAt(30)?.id).toBe('d-000030');
    expect(loader.rowAt(150)).toBeUndefined();

    loader.show(50_010, 50_050);
    loader.show(50_010, 50_050); // asking twice does not fetch twice
    await settle();
    expect(f.asked.slice(1)).toEqual([{ offset: 50_000, limit: BLOCK_ROWS }]);
    expect(loader.rowAt(50_042)?.id).toBe('d-050042');
  });

  it('coalesces change notifications into one re-read of the visible rows, keeping old rows meanwhile', async () => {
    vi.useFakeTimers();
    const f = fleet(300);
    const loader = new DeviceWindowLoader(f.query, {}, 200);
    loader.show(90, 120); // blocks 0 and 1
    await vi.runAllTimersAsync();
    expect(f.asked).toHaveLength(2);

    f.setRows(Array.from({ length: 300 }, (_, i) => row(i, 'accepted')));
    f.hold();
    for (let i = 0; i < 50; i++) loader.refresh();
    await vi.advanceTimersByTimeAsync(250);
    expect(f.asked).toHaveLength(4); // blocks 0 and 1 once more, not 100 times
    expect(loader.rowAt(95)?.status).toBe('pending'); // stale row shown until the answer arrives
    f.release();
    await vi.runAllTimersAsync();
    expect(loader.rowAt(95)?.status).toBe('accepted');
  });

  it('drops answers to an older filter', async () => {
    const f = fleet(500);
    f.hold();
    const loader = new DeviceWindowLoader(f.query, {});
    loader.show(0, 10);
    loader.setFilter({ status: 'rejected' });
    f.release();
    await settle();
    expect(f.asked.map((q) => q.status)).toEqual([undefined, 'rejected']);
    expect(loader.snapshot().total).toBe(0); // the answer for "all devices" (500) was ignored
    expect(loader.rowAt(0)).toBeUndefined();
  });

  it('reports a failed read and recovers on the next one', async () => {
    let fail = true;
    const loader = new DeviceWindowLoader(async (q) => {
      if (fail) throw new Error('cache locked');
      return { total: 1, offset: q.offset!, rows: [row(0)], counts: { pending: 1, accepted: 0, rejected: 0 } };
    }, {}, 0);
    loader.show(0, 0);
    await settle();
    expect(loader.snapshot().error).toBe('cache locked');
    fail = false;
    loader.refresh();
    await new Promise((r) => setTimeout(r, 5));
    expect(loader.snapshot()).toMatchObject({ error: '', total: 1 });
  });
});
