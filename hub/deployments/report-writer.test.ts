import { describe, expect, it } from 'vitest';
import type { AppliedReports, HubStore, UpdateReportRecord } from '../store/store';
import { ReportWriter } from './report-writer';

const none: AppliedReports = { finals: [], finished: [], retried: [], halted: [], phasesStarted: [] };
const report = (deviceId: string, seq: number): UpdateReportRecord => ({ deploymentId: 'd', deviceId, status: 'success', seq, bytesDone: 0, bytesTotal: 0, reason: '', logLines: [], atMs: 1 });

describe('ReportWriter', () => {
  it('writes final reports that arrive in the same turn of the event loop in one transaction, and resolves once written', async () => {
    const batches: string[][] = [];
    // Only what the writer calls: one applyUpdateReports per transaction.
    const store = { applyUpdateReports: async (r: UpdateReportRecord[]) => (batches.push(r.map((x) => x.deviceId)), none) } as unknown as HubStore;
    const writer = new ReportWriter(store, 60_000, () => undefined, () => undefined);
    const waits: Promise<void>[] = [];
    for (const id of ['a', 'b', 'c']) {
      writer.add(report(id, 1));
      waits.push(writer.flushSoon());
    }
    expect(batches).toEqual([]);
    await Promise.all(waits);
    expect(batches).toEqual([['a', 'b', 'c']]);
    // A later turn: a transaction of its own.
    writer.add(report('d', 1));
    await writer.flushSoon();
    expect(batches).toEqual([['a', 'b', 'c'], ['d']]);
  });
});
