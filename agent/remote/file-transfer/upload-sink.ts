import type { FileHandle } from 'node:fs/promises';
import { WriteBehind } from '../../../proto/write-behind';

/** Where an upload's bytes go, in order, from its resume offset on. */
export interface UploadSink {
  /** True while bytes bypass the page cache (direct-sink.ts). */
  readonly direct: boolean;
  /** Takes the next bytes; they may be on disk only after the next call or finish(). */
  write(chunk: Uint8Array): Promise<void>;
  /** All bytes written, the file cut to `size` and fsynced. */
  finish(size: number): Promise<void>;
  /** Writes out every byte taken so far (a cut: the temp file then holds all that arrived). */
  flush(): Promise<void>;
  /** Lets go of what the sink holds (not the file); bytes not yet written are dropped. */
  close(): Promise<void>;
}

/** Ordinary writes through the page cache, pushed to disk in the background (proto/write-behind.ts). */
export class BufferedSink implements UploadSink {
  readonly direct = false;
  private readonly flusher: WriteBehind;

  constructor(
    private readonly file: FileHandle,
    private at: number,
  ) {
    this.flusher = new WriteBehind(file);
  }

  /** Background datasyncs started so far, for tests and diagnostics. */
  get backgroundFlushes(): number {
    return this.flusher.flushes;
  }

  async write(chunk: Uint8Array): Promise<void> {
    let done = 0;
    while (done < chunk.byteLength) {
      const { bytesWritten } = await this.file.write(chunk, done, chunk.byteLength - done, this.at + done);
      done += bytesWritten;
    }
    this.at += chunk.byteLength;
    this.flusher.wrote(chunk.byteLength);
  }

  async finish(): Promise<void> {
    await this.flusher.sync();
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
