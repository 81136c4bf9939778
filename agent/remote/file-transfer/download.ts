import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import type { FileInfo } from '../channel-frame';
import { RemoteError, fsError } from '../remote-error';
import type { RootPolicy } from './root-policy';

// A file read for download: checked against the roots, opened without
// following a last-moment symlink and without blocking on a FIFO, then read
// from any offset. The sha256 covers the whole file (the bytes before the
// offset are hashed, not sent), so a resumed download verifies end to end.

/**
 * Read size, and the size of a download's data frames (what fleetctl's
 * uploads send too). 64 KiB frames cost every process on the way a quarter
 * of the per-frame work: through the hub, 512 MiB came down at 102–129 MB/s
 * with them and 121–138 with these, alternating in one hour.
 */
export const READ_CHUNK_BYTES = 256 * 1024;

export class FileDownload {
  private hash: Hash = createHash('sha256');
  private digest: string | undefined;

  private constructor(
    readonly info: FileInfo,
    /** The real path being sent. */
    readonly path: string,
    private readonly file: FileHandle,
    private readonly regular: boolean,
    private readonly maxBytes: number,
  ) {}

  /**
   * Opens `path` for download from `offset`; refuses (RemoteError) before any
   * byte is read. `regularOnly` refuses what is not a regular file even where
   * remote.files.allowNonRegular lets it download (and never waits on a FIFO).
   */
  static async open(policy: RootPolicy, maxFileBytes: number, path: string, offset = 0, regularOnly = false): Promise<FileDownload> {
    const resolved = await policy.resolveInRoots(path, 'file');
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RemoteError('protocol', `download offset must be a whole number >= 0, got ${offset}`);
    let file: FileHandle;
    try {
      file = await open(resolved.path, constants.O_RDONLY | constants.O_NOFOLLOW | (policy.config.allowNonRegular && !regularOnly ? 0 : constants.O_NONBLOCK));
    } catch (err) {
      throw fsError(err, path);
    }
    try {
      await policy.verifyOpened(file.fd, resolved, path);
      const st: Stats = await file.stat();
      policy.checkFileType(path, st);
      if (regularOnly && !st.isFile()) throw new RemoteError('not-regular', `${path} is not a regular file: only a regular file has a sha256 to compare`);
      if (st.isFile() && st.size > maxFileBytes) throw new RemoteError('too-large', `${path} is ${st.size} bytes, over this device's limit of ${maxFileBytes} (remote.files.maxFileBytes)`);
      if (st.isFile() && offset > st.size) throw new RemoteError('protocol', `download offset ${offset} is past the end of ${path} (${st.size} bytes)`);
      const info: FileInfo = { size: st.isFile() ? st.size : 0, mode: st.mode & 0o777, mtimeMs: Math.floor(st.mtimeMs), offset };
      return new FileDownload(info, resolved.path, file, st.isFile(), maxFileBytes);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** The file's bytes from the offset, in chunks; throws if the file shrank or (non-regular) grows past the limit. */
  async *chunks(): AsyncGenerator<Buffer> {
    const { size, offset } = this.info;
    let pos = 0;
    // Hash what the receiver already has.
    while (pos < offset) {
      const n = await this.readAt(pos, Math.min(READ_CHUNK_BYTES, offset - pos));
      if (n.byteLength === 0) throw new RemoteError('internal', `${this.path} shrank while it was read; download it again`);
      this.hash.update(n);
      pos += n.byteLength;
    }
    for (;;) {
      const want = this.regular ? Math.min(READ_CHUNK_BYTES, size - pos) : READ_CHUNK_BYTES;
      if (want === 0) break;
      const chunk = await this.readAt(pos, want);
      if (chunk.byteLength === 0) {
        if (this.regular) throw new RemoteError('internal', `${this.path} shrank while it was sent; download it again`);
        break;
      }
      pos += chunk.byteLength;
      if (pos > this.maxBytes) throw new RemoteError('too-large', `${this.path} is over this device's limit of ${this.maxBytes} bytes (remote.files.maxFileBytes)`);
      this.hash.update(chunk);
      yield chunk;
    }
    this.digest = this.hash.digest('hex');
  }

  /** Reads the whole file and answers its sha256 (hex), sending nothing; undefined once `stop()` says so. */
  async wholeSha256(stop: () => boolean): Promise<string | undefined> {
    for await (const chunk of this.chunks()) {
      void chunk;
      if (stop()) return undefined;
    }
    return this.sha256;
  }

  /** The whole file's sha256 (hex), once `chunks()` has finished. */
  get sha256(): string {
    if (this.digest === undefined) throw new Error('sha256 is known only after the whole file was read');
    return this.digest;
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }

  private async readAt(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    try {
      const { bytesRead } = await this.file.read(buf, 0, length, this.regular ? position : null);
      return buf.subarray(0, bytesRead);
    } catch (err) {
      throw fsError(err, this.path);
    }
  }
}
