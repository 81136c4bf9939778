import type { FileHandle } from 'node:fs/promises';

// Durable big files without a long wait at the end. A received file is
// fsynced before it is renamed into place (so a power cut never leaves a
// renamed file whose bytes never reached the disk); left to the end, that
// fsync finds the whole file still in the page cache (Linux starts its own
// write-back only past ~10% of RAM) and the sender waits while a GiB goes
// to disk — on this project's test machine 1.5-1.8 s per GiB, as long as
// a third of the transfer. So the writer starts a datasync in the
// background every `everyBytes` (one at a time, on libuv's thread pool,
// never awaited by the writes): the disk works while bytes still arrive,
// and the final sync only has the tail left. Used by the agent for
// uploads and by fleetctl and the console for downloads.

export const WRITE_BEHIND_BYTES = 32 * 1024 * 1024;

export class WriteBehind {
  private pending = 0;
  private flushing: Promise<void> | null = null;
  private failure: Error | undefined;
  /** background datasyncs started so far */
  flushes = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly everyBytes = WRITE_BEHIND_BYTES,
  ) {}

  /** Call after each completed write of `bytes` bytes. */
  wrote(bytes: number): void {
    this.pending += bytes;
    if (this.pending < this.everyBytes || this.flushing) return;
    this.pending = 0;
    this.flushes++;
    this.flushing = this.file
      .datasync()
      .catch((err: Error) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.flushing = null;
      });
  }

  /** Waits for a background flush, then fsyncs data and metadata; a failed background flush fails this. */
  async sync(): Promise<void> {
    await this.settled();
    if (this.failure) throw this.failure;
    await this.file.sync();
  }

  private async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}
