import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { BackgroundHash } from './background-hash';

// The sha256 of a download, fed as the bytes arrive. Big downloads hash on a
// worker thread (background-hash.ts): on the device's one event loop the
// hash was the largest single cost of receiving an artifact (about a fifth
// of a core at 200 MB/s), and it delayed the flow-control updates that keep
// the hub sending. Small downloads — a 10,000-device simulator runs many at
// once — hash in line: a thread each would cost more than it saves.

export interface DownloadHash {
  /** Whether update() answers with copies of its own (so the bytes passed to it may be reused once it resolves). */
  readonly copies: boolean;
  /** Hashes the first `length` bytes of `file` (a resumed download's prefix); call before update(). */
  prefix(file: string, length: number): Promise<void>;
  /**
   * Hashes these bytes after the previous ones. Resolves with buffers
   * holding the same bytes, which the caller writes to the file and reports
   * with written() (a background hash copies them into its ring and reuses
   * the ring's space once they are written); nothing passed may change.
   */
  update(parts: readonly Uint8Array[]): Promise<readonly Uint8Array[]>;
  /** `bytes` more of the buffers update() returned are on disk. */
  written(bytes: number): void;
  /** The writing failed: an update() waiting for written bytes, and every later call, fails with this. */
  abort(reason: Error): void;
  /** The hex sha256 of everything hashed. */
  digest(): Promise<string>;
  /** Releases the thread, if any. Safe to call more than once. */
  close(): Promise<void>;
}

/** Downloads at least this big hash on a worker thread. */
export const BACKGROUND_HASH_MIN_BYTES = 4 * 1024 * 1024;

export function createDownloadHash(size: number): DownloadHash {
  return size >= BACKGROUND_HASH_MIN_BYTES ? new BackgroundHash() : new InlineHash();
}

export class InlineHash implements DownloadHash {
  readonly copies = false;
  private readonly hash = createHash('sha256');

  async prefix(file: string, length: number): Promise<void> {
    if (length === 0) return;
    for await (const chunk of createReadStream(file, { start: 0, end: length - 1, highWaterMark: 1024 * 1024 })) this.hash.update(chunk as Buffer);
  }

  async update(parts: readonly Uint8Array[]): Promise<readonly Uint8Array[]> {
    for (const part of parts) this.hash.update(part);
    return parts;
  }

  written(): void {}

  abort(): void {}

  async digest(): Promise<string> {
    return this.hash.digest('hex');
  }

  async close(): Promise<void> {}
}
