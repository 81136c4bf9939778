import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { aligned, DIRECT_ALIGN, type AlignedPair } from './aligned-stages';
import type { UploadSink } from './upload-sink';

// An upload's bytes written past the page cache (O_DIRECT). A buffered
// write copies every byte into a freshly allocated page-cache page, and the
// kernel later walks those pages again to write them back: `perf` of the
// agent during a 1 GiB upload put a fifth of its samples in that copy alone
// (`copy_folio_from_iter_atomic`), more than the TLS decryption. With direct
// I/O the disk reads the bytes from our buffer, and a device with little
// RAM keeps its page cache for its own work. `dd` of 1 GiB here: 0.56-2.0 s
// of system CPU buffered, 0.32-0.34 s direct.
//
// Direct I/O wants file offsets, lengths and buffer addresses aligned to
// the disk's block, so bytes are gathered into two aligned 1 MiB stages in
// turn: one is written on libuv's thread pool while the next fills. The
// last, partial stage is written padded to the block and the file is then
// cut to its real size. A cut writes out the stage the ordinary way, so the
// temp file holds every byte received; a resume from an offset inside a
// block starts its first stage with that block's bytes read back. Where the file system or the buffers do not take
// direct I/O (EINVAL: UBIFS, JFFS2, tmpfs on older kernels), the sink falls
// back to ordinary writes of the same stages, so nothing is lost or written
// twice. The final fsync stays: O_DIRECT does not flush the disk's cache
// or commit the file's size and blocks.

export class DirectSink implements UploadSink {
  private stage: Buffer;
  private spare: Buffer;
  private fill = 0;
  /** File offset of the stage being filled. */
  private stageAt: number;
  private writing: Promise<void> | null = null;
  private failure: Error | undefined;
  private closed = false;
  private target: FileHandle;

  private constructor(
    private readonly file: FileHandle,
    direct: FileHandle,
    private readonly stages: AlignedPair,
    at: number,
  ) {
    this.target = direct;
    [this.stage, this.spare] = stages.buffers;
    this.stageAt = at;
  }

  /**
   * A direct sink for `file` (opened for reading and writing) from offset
   * `at`, or null where direct I/O is not to be had (another OS, no aligned
   * stage free, a file system that refuses O_DIRECT at open).
   */
  static async open(file: FileHandle, at: number): Promise<DirectSink | null> {
    if (!constants.O_DIRECT) return null;
    const stages = aligned.take();
    if (!stages) return null;
    let direct: FileHandle | undefined;
    try {
      // The same open file, opened again through its descriptor: no path
      // lookup, so a link swapped in since cannot redirect the writes.
      direct = await open(`/proc/self/fd/${file.fd}`, constants.O_WRONLY | constants.O_DIRECT);
      const head = at % DIRECT_ALIGN;
      const sink = new DirectSink(file, direct, stages, at - head);
      if (head > 0) {
        const { bytesRead } = await file.read(sink.stage, 0, head, at - head);
        if (bytesRead !== head) throw new Error(`read ${bytesRead} of the ${head} bytes before the resume offset`);
        sink.fill = head;
      }
      return sink;
    } catch {
      await direct?.close().catch(() => undefined);
      stages.release();
      return null;
    }
  }

  get direct(): boolean {
    return this.target !== this.file;
  }

  async write(chunk: Uint8Array): Promise<void> {
    let done = 0;
    while (done < chunk.byteLength) {
      const n = Math.min(chunk.byteLength - done, this.stage.length - this.fill);
      this.stage.set(chunk.subarray(done, done + n), this.fill);
      this.fill += n;
      done += n;
      if (this.fill === this.stage.length) await this.writeStage();
    }
  }

  async finish(size: number): Promise<void> {
    await this.settled();
    if (this.fill > 0) {
      const padded = Math.ceil(this.fill / DIRECT_ALIGN) * DIRECT_ALIGN;
      this.stage.fill(0, this.fill, padded);
      await this.writeOut(this.stage, padded, this.stageAt);
      this.stageAt += this.fill;
      this.fill = 0;
    }
    await this.file.truncate(size);
    await this.file.sync();
  }

  async flush(): Promise<void> {
    await this.settled();
    if (this.fill === 0) return;
    // Exact length, so through the page cache: the temp file ends at the last byte received.
    await writeFully(this.file, this.stage, this.fill, this.stageAt);
    this.stageAt += this.fill;
    this.fill = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing;
    if (this.direct) await this.target.close().catch(() => undefined);
    this.stages.release();
  }

  /** Starts writing the full stage (after the one before it is done) and fills the other. */
  private async writeStage(): Promise<void> {
    await this.settled();
    const full = this.stage;
    const at = this.stageAt;
    this.writing = this.writeOut(full, full.length, at)
      .catch((err: Error) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.writing = null;
      });
    [this.stage, this.spare] = [this.spare, full];
    this.stageAt += full.length;
    this.fill = 0;
  }

  private async settled(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
  }

  private async writeOut(buf: Buffer, length: number, at: number): Promise<void> {
    try {
      await writeFully(this.target, buf, length, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL' || !this.direct) throw err;
      // Direct I/O refused after all: the same bytes, the ordinary way, from now on.
      await this.target.close().catch(() => undefined);
      this.target = this.file;
      await writeFully(this.target, buf, length, at);
    }
  }
}

async function writeFully(file: FileHandle, buf: Uint8Array, length: number, at: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await file.write(buf, done, length - done, at + done);
    done += bytesWritten;
  }
}
