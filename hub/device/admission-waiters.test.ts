import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { DeviceRecord, HubEvent } from '../store/store';
import { AdmissionWaiters, MAX_WAIT_MS, requestedWaitMs, WAIT_METADATA } from './admission-waiters';

const md = (value?: string) => {
  const m = new Metadata();
  if (value !== undefined) m.set(WAIT_METADATA, value);
  return m;
};
const event = (id: string, status: DeviceRecord['status']): HubEvent =>
  ({ revision: 1, atMs: 0, actor: 't', kind: 'device.admission', entityId: id, device: { id, status } as DeviceRecord }) as HubEvent;

describe('requestedWaitMs', () => {
  const now = 1_000_000;
  it('holds only when asked, within the cap and before the deadline', () => {
    expect(requestedWaitMs(md(), Infinity, now)).toBe(0);
    expect(requestedWaitMs(md('abc'), Infinity, now)).toBe(0);
    expect(requestedWaitMs(md('-5'), Infinity, now)).toBe(0);
    expect(requestedWaitMs(md('5000'), Infinity, now)).toBe(5000);
    expect(requestedWaitMs(md('999999'), Infinity, now)).toBe(MAX_WAIT_MS);
    expect(requestedWaitMs(md('50000'), new Date(now + 10_000), now)).toBe(8000);
    expect(requestedWaitMs(md('50000'), now + 1000, now)).toBe(0);
  });
});

describe('AdmissionWaiters', () => {
  it('wakes the waiters of a device that left PENDING, and only those', async () => {
    const waiters = new AdmissionWaiters();
    let a = 0;
    let b = 0;
    void waiters.wait('a', 10_000).done.then(() => a++);
    void waiters.wait('a', 10_000).done.then(() => a++);
    const wb = waiters.wait('b', 10_000);
    void wb.done.then(() => b++);
    waiters.onEvents([event('a', 'pending'), event('b', 'pending')]);
    await new Promise((r) => setTimeout(r, 10));
    expect([a, b]).toEqual([0, 0]);
    waiters.onEvents([event('a', 'accepted')]);
    await new Promise((r) => setTimeout(r, 10));
    expect([a, b, waiters.size]).toEqual([2, 0, 1]);
    wb.cancel();
    await wb.done;
    expect([b, waiters.size]).toEqual([1, 0]);
  });

  it('ends a wait after its time, and all waits at once on wakeAll', async () => {
    const waiters = new AdmissionWaiters();
    const t0 = Date.now();
    await waiters.wait('x', 50).done;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    const long = waiters.wait('y', 60_000);
    waiters.wakeAll();
    await long.done;
    expect(waiters.size).toBe(0);
  });
});
