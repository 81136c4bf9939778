import type { FileHandle } from 'node:fs/promises';
import { crashAtBytes } from './fault-injection';

// The disk side of a download, decoupled from the network side. Chunks are
// queued as they arrive and written by one writer that takes everything
// queued in a single positional writev, so while the disk is busy the next
// chunks keep arriving and the following write covers several of them (one
// system call and one thread-pool trip per batch, not per 256 KiB chunk). The
// fsync and the durable offset run in their own lane beside the writes: a
// sync waits only for the bytes before its mark, and the stream keeps flowing
// meanwhile. Measured on the 2-core bench box, the per-chunk `await write`,
// fsync and state save in line with the stream were ~2/3 of the download's
// wall time (docs/benchmarks.md).
//
// Durable marks are the same as when writes were in line: the end of the
// first chunk `syncEvery` bytes or more after the previous mark. A mark is
// made durable (fsync, then onDurable) once every byte before it has been
// written; marks passed while a sync runs are folded into the next one, so
// onDurable is called in order, one at a time, with increasing offsets.

export interface DownloadWriterOptions {
  /** Bytes between durable marks. */
  syncEvery: number;
  /** Called after the fsync that made every byte before `offset` durable. */
  onDurable(offset: number): Promise<void>;
  /** Bytes queued or being written before add() asks the caller to wait (default 8 MiB). */
  maxBuffered?: number;
  /** Called after each write with the number of bytes it put in the file (their buffers may be reused). */
  onWritten?(bytes: number): void;
  /** Called once when a write or sync fails (before add/room/flush report it). */
  onFailed?(err: Error): void;
}

export const DEFAULT_MAX_BUFFERED = 8 * 1024 * 1024;

export class DownloadWriter {
  /** Offset after the last byte added. */
  received: number;
  /** Offset after the last byte written to the file. */
  private written: number;
  private lastMark: number;
  private readonly marks: number[] = [];
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private writingBytes = 0;
  private writer?: Promise<void>;
  private syncer?: Promise<void>;
  private failure?: Error;
  private stopped = false;
  private wakeRoom?: () => void;
  private readonly maxBuffered: number;

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly o: DownloadWriterOptions,
  ) {
    this.received = this.written = this.lastMark = start;
    this.maxBuffered = o.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  }

  /**
   * Queues the bytes that follow the previous ones (the caller must not
   * change them afterwards). Returns false when `maxBuffered` bytes wait for
   * the disk: await room() before adding more. Throws a failed write's error.
   */
  add(data: Uint8Array): boolean {
    if (this.failure) throw this.failure;
    this.queue.push(data);
    this.queuedBytes += data.length;
    this.received += data.length;
    if (this.received - this.lastMark >= this.o.syncEvery) {
      this.lastMark = this.received;
      this.marks.push(this.received);
    }
    this.startWriter();
    return this.buffered() < this.maxBuffered;
  }

  /** Resolves once fewer than `maxBuffered` bytes wait; rejects with a failed write's error. */
  async room(): Promise<void> {
    while (!this.failure && this.buffered() >= this.maxBuffered) await new Promise<void>((resolve) => (this.wakeRoom = resolve));
    if (this.failure) throw this.failure;
  }

  /** Resolves once every byte added is written and every mark reached is durable. */
  async flush(): Promise<void> {
    while (!this.failure && !this.stopped && (this.writer || this.syncer || this.queue.length > 0)) await Promise.all([this.writer, this.syncer]);
    if (this.failure) throw this.failure;
    if (this.stopped) throw new Error('the download writer was stopped before every byte was written');
  }

  /** Starts nothing new and waits for the write and sync in progress (never rejects): before closing the file. */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.writer || this.syncer) await Promise.all([this.writer, this.syncer]);
  }

  private buffered(): number {
    return this.queuedBytes + this.writingBytes;
  }

  private fail(err: unknown): void {
    if (!this.failure) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.o.onFailed?.(this.failure);
    }
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeRoom;
    this.wakeRoom = undefined;
    wake?.();
  }

  private startWriter(): void {
    if (this.writer || this.stopped || this.failure || this.queue.length === 0) return;
    this.writer = this.writeQueued()
      .catch((err) => this.fail(err))
      .finally(() => {
        this.writer = undefined;
        // Bytes added while the last write finished.
        this.startWriter();
      });
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped && !this.failure) {
      const buffers = this.queue;
      this.writingBytes = this.queuedBytes;
      this.queue = [];
      this.queuedBytes = 0;
      await writevAll(this.fh, buffers, this.written);
      this.written += this.writingBytes;
      this.o.onWritten?.(this.writingBytes);
      this.writingBytes = 0;
      crashAtBytes('download', this.written);
      this.wake();
      this.startSync();
    }
  }

  private startSync(): void {
    if (this.syncer || this.stopped || this.failure) return;
    let mark: number | undefined;
    while (this.marks.length > 0 && this.marks[0] <= this.written) mark = this.marks.shift();
    if (mark === undefined) return;
    const offset = mark;
    this.syncer = (async () => {
      await this.fh.sync();
      await this.o.onDurable(offset);
    })()
      .catch((err) => this.fail(err))
      .finally(() => {
        this.syncer = undefined;
        // Marks written while this one synced.
        this.startSync();
      });
  }
}

/** One positional writev of `buffers` at `position`, continued after short writes. */
async function writevAll(fh: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, position);
    position += bytesWritten;
    rest = skipBytes(rest, bytesWritten);
  }
}

function skipBytes(buffers: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < buffers.length && n >= buffers[i].length) n -= buffers[i++].length;
  const rest = buffers.slice(i);
  if (n > 0) rest[0] = rest[0].subarray(n);
  return rest;
}
