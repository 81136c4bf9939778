import { statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { HubStore, KeptRecording } from '../store/store';

export interface RetentionPolicy {
  /** Recordings of sessions that ended longer ago than this are removed; 0 = no age limit. */
  maxAgeMs: number;
  /** Past this many bytes of recordings in all, the oldest are removed; 0 = no size limit. */
  maxTotalBytes: number;
}

export const DEFAULT_RECORDING_MAX_AGE_MS = 90 * 86_400_000;
export const DEFAULT_RECORDING_MAX_TOTAL_BYTES = 2 * 1024 ** 3;
/** How often the hub prunes (it also prunes at start). */
export const RETENTION_SWEEP_MS = 3_600_000;
/**
 * A session's row says ended once its recorder was given up to 2 s to
 * flush; the size limit leaves the just-ended alone for this long so it never
 * removes a file the recorder may still be writing. (The age limit is days.)
 */
export const RECENTLY_ENDED_MS = 60_000;

export interface PruneResult {
  pruned: number;
  freedBytes: number;
  /** Bytes of recordings kept after the sweep (open sessions' included). */
  keptBytes: number;
}

// Recording retention: removes the asciicast files of ended sessions older
// than the age limit, then the oldest until the recordings fit the size
// limit. A session still open (its recording being written) is never
// touched. The session row stays, marked pruned with the reason (ListSessions
// and the audit log say so; GetRecording answers NOT_FOUND with it).
export class RecordingRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PruneResult> | undefined;

  constructor(
    private readonly store: HubStore,
    private readonly recordingsDir: string,
    readonly policy: RetentionPolicy,
    private readonly log: (line: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Prunes now, then every `everyMs`. */
  start(everyMs = RETENTION_SWEEP_MS): Promise<PruneResult> {
    const first = this.sweep();
    this.timer = setInterval(() => void this.sweep(), everyMs);
    this.timer.unref();
    return first;
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass; a pass already running is joined rather than doubled. Never throws (problems are logged). */
  sweep(): Promise<PruneResult> {
    this.running ??= this.prune()
      .catch((err: Error) => {
        this.log(`recording retention: the sweep failed, recordings are kept until the next one: ${err.message}`);
        return { pruned: 0, freedBytes: 0, keptBytes: 0 };
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async prune(): Promise<PruneResult> {
    const { maxAgeMs, maxTotalBytes } = this.policy;
    if (maxAgeMs <= 0 && maxTotalBytes <= 0) return { pruned: 0, freedBytes: 0, keptBytes: 0 };
    const now = this.now();
    const kept = (await this.store.keptRecordings()).map((r) => ({ ...r, bytes: this.fileBytes(r) }));
    let total = kept.reduce((n, r) => n + r.bytes, 0);
    const doomed: Array<{ id: string; reason: string; bytes: number }> = [];
    // Oldest end first, open sessions last (the store's order).
    for (const r of kept) {
      if (r.endedMs === 0) break;
      let reason: string | undefined;
      if (maxAgeMs > 0 && now - r.endedMs > maxAgeMs) reason = `recording pruned by retention (older than ${describeAge(maxAgeMs)})`;
      else if (maxTotalBytes > 0 && total > maxTotalBytes && now - r.endedMs > RECENTLY_ENDED_MS) {
        reason = `recording pruned by retention (recordings over ${describeBytes(maxTotalBytes)} in total)`;
      } else break; // every later one ended later still
      doomed.push({ id: r.id, reason, bytes: r.bytes });
      total -= r.bytes;
    }
    if (doomed.length === 0) return { pruned: 0, freedBytes: 0, keptBytes: total };

    const removed: typeof doomed = [];
    for (const d of doomed) {
      try {
        unlinkSync(this.pathOf(d.id));
        removed.push(d);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ENOENT') removed.push(d);
        else {
          // Kept and counted; the next sweep tries again.
          total += d.bytes;
          this.log(`recording retention: cannot remove ${this.pathOf(d.id)}: ${e.message}`);
        }
      }
    }
    await this.store.markRecordingsPruned(removed, now);
    const freedBytes = removed.reduce((n, d) => n + d.bytes, 0);
    if (removed.length > 0) this.log(`recording retention: pruned ${removed.length} recording${removed.length === 1 ? '' : 's'} (${describeBytes(freedBytes)}); ${describeBytes(total)} kept`);
    return { pruned: removed.length, freedBytes, keptBytes: total };
  }

  private pathOf(id: string): string {
    return join(this.recordingsDir, `${id}.cast`);
  }

  /**
   * An ended session's stored size is its file's (the recorder counts what it
   * wrote): no stat per recording each hour. Open sessions, and sessions a
   * crashed hub left without a size, are looked at on disk.
   */
  private fileBytes(r: KeptRecording): number {
    if (r.endedMs > 0 && r.recordingBytes > 0) return r.recordingBytes;
    try {
      return statSync(this.pathOf(r.id)).size;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 0 : r.recordingBytes;
    }
  }
}

function describeAge(ms: number): string {
  const days = ms / 86_400_000;
  if (days >= 1 && Number.isInteger(days)) return `${days} day${days === 1 ? '' : 's'}`;
  const hours = ms / 3_600_000;
  if (hours >= 1 && Number.isInteger(hours)) return `${hours} hour${hours === 1 ? '' : 's'}`;
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

function describeBytes(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`;
  }
  return `${n} B`;
}
