import type { AppliedReports, HubStore, UpdateReportRecord } from '../store/store';
import { TickWriter } from '../store/tick-writer';

// Device reports are judged at once (in memory, against the newest accepted
// report) but written in batches: one transaction per tick for every device
// that reported, keeping only each device's newest report and all of its
// log lines. 1,000 devices reporting every second cost a few transactions a
// second, not 1,000. Final reports are flushed at once by the caller
// (flushSoon: with the others that arrived in the same turn of the event loop).
export class ReportWriter extends TickWriter {
  private pending = new Map<string, UpdateReportRecord>();
  private soon: Promise<void> | undefined;

  constructor(
    private readonly store: HubStore,
    intervalMs: number,
    private readonly log: (line: string) => void,
    private readonly onApplied: (applied: AppliedReports) => void,
  ) {
    super(intervalMs);
  }

  /** The newest accepted report not yet written, if any. */
  peek(deploymentId: string, deviceId: string): UpdateReportRecord | undefined {
    return this.pending.get(key(deploymentId, deviceId));
  }

  /** Queues an accepted report; it replaces a queued one of the same device and deployment, keeping the older log lines. */
  add(report: UpdateReportRecord): void {
    const k = key(report.deploymentId, report.deviceId);
    const queued = this.pending.get(k);
    this.pending.set(k, queued ? { ...report, logLines: [...queued.logLines, ...report.logLines] } : report);
  }

  /**
   * Writes what is queued once the current batch of I/O callbacks is done
   * (setImmediate): final reports that arrive together, from many devices'
   * connections read in one turn of the event loop, share one transaction
   * instead of one each. Resolves once they are in the database.
   */
  flushSoon(): Promise<void> {
    this.soon ??= new Promise((resolve) =>
      setImmediate(() => {
        this.soon = undefined;
        void this.flush().then(resolve);
      }),
    );
    return this.soon;
  }

  protected async writeBatch(): Promise<void> {
    if (!this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    let applied: AppliedReports;
    try {
      applied = await this.store.applyUpdateReports(batch);
    } catch (err) {
      // The devices re-send their current report after their next (re)connect.
      this.log(`could not record ${batch.length} update reports: ${(err as Error).message}`);
      return;
    }
    try {
      this.onApplied(applied);
    } catch (err) {
      this.log(`handling applied update reports failed: ${(err as Error).message}`);
    }
  }
}

function key(deploymentId: string, deviceId: string): string {
  return `${deploymentId}\n${deviceId}`;
}
