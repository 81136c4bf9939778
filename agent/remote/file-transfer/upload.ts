import { constants } from 'node:fs';
import { chown, mkdir, open, readdir, realpath, rename, rmdir, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import type { FileInfo } from '../channel-frame';
import type { FilesConfig } from '../remote-config';
import { RemoteError, fsError } from '../remote-error';
import { lookupUser } from '../shell-user';
import { DirectSink } from './direct-sink';
import type { RootPolicy } from './root-policy';
import { BufferedSink, type UploadSink } from './upload-sink';

// A file received by upload. Bytes go to a temporary sibling
// (`.NAME.fleet-upload-KEY`), never to the real name; only a complete file
// whose sha256 matches the sender's is fsynced (its bytes written past the
// page cache, direct-sink.ts, or already on their way to disk,
// proto/write-behind.ts), given its mode/owner, and renamed into place
// (then the folder is fsynced). A cut leaves the temp file: the next upload
// of the same file (same size and transfer id) gets its length as the
// resume offset and hashes the bytes already there. Size limits and free
// space are checked before a byte is written. A completed upload removes
// the temp files of abandoned earlier attempts.

export interface UploadRequest {
  path: string;
  /** Announced size; more bytes than this are refused. */
  size: number;
  /** The sender's permission bits (kept unless remote.files.uploadMode forces one). */
  mode?: number;
  /** The sender's id for this transfer (letters, digits, '-', '_'): a resume must name the same. */
  transferId?: string;
}

/** Targets with an upload in progress in this process (one writer per file). */
const busy = new Set<string>();
/** Temp files being written now: the stale-upload sweep leaves them alone. */
export const activeTemps = new Set<string>();

export class FileUpload {
  private hash: Hash = createHash('sha256');
  private written: number;
  private finished = false;

  private constructor(
    /** The real path the file will have. */
    readonly path: string,
    readonly tempPath: string,
    readonly info: FileInfo,
    private readonly file: FileHandle,
    private readonly owner: { uid: number; gid: number } | undefined,
    private readonly sink: UploadSink,
  ) {
    this.written = info.offset;
  }

  /** Checks everything (roots, type, size, space) and opens the temp file; returns the resume offset in `info.offset`. */
  static async begin(policy: RootPolicy, config: Pick<FilesConfig, 'maxFileBytes' | 'uploadMode' | 'uploadOwner' | 'uploadGroup'>, request: UploadRequest): Promise<FileUpload> {
    const { path, size } = request;
    if (!Number.isSafeInteger(size) || size < 0) throw new RemoteError('protocol', `upload size must be a whole number >= 0, got ${size}`);
    if (request.transferId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(request.transferId)) throw new RemoteError('protocol', 'upload transferId must be 1-64 letters, digits, - or _');
    const target = await policy.resolveInRoots(path, 'new-file');
    if (size > config.maxFileBytes) throw new RemoteError('too-large', `${path}: ${size} bytes is over this device's limit of ${config.maxFileBytes} (remote.files.maxFileBytes)`);
    const owner = resolveOwner(config.uploadOwner, config.uploadGroup);
    const mode = (config.uploadMode ?? request.mode ?? 0o644) & 0o777;
    if (busy.has(target.path)) throw new RemoteError('busy', `${path} is being uploaded by another transfer; wait for it or cancel it`);
    busy.add(target.path);
    const tempPath = join(dirname(target.path), tempName(basename(target.path), size, request.transferId));
    let file: FileHandle | undefined;
    let sink: UploadSink | undefined;
    try {
      if (target.missingFolders) {
        // Space first, so a refusal leaves no folder behind.
        await checkSpace(dirname(target.missingFolders[0]), size, path);
        await makeFolders(policy, target.missingFolders, owner, path);
      }
      file = await open(tempPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
      await policy.verifyOpened(file.fd, target, path);
      const st = await file.stat();
      if (!st.isFile()) throw new RemoteError('not-regular', `${tempPath} (the temporary upload file) is not a regular file; remove it`);
      let offset = st.size;
      if (offset > size) {
        await file.truncate(0);
        offset = 0;
      }
      await checkSpace(dirname(target.path), size - offset, path);
      activeTemps.add(tempPath);
      sink = (await DirectSink.open(file, offset)) ?? new BufferedSink(file, offset);
      const upload = new FileUpload(target.path, tempPath, { size, mode, mtimeMs: 0, offset }, file, owner, sink);
      await upload.hashExisting();
      return upload;
    } catch (err) {
      busy.delete(target.path);
      activeTemps.delete(tempPath);
      await sink?.close(); // its aligned stages go back, its direct descriptor is closed
      await file?.close().catch(() => undefined);
      // A temp file this refusal created empty is noise; one holding bytes is a resume point.
      if (file && (await fileSize(tempPath)) === 0) await unlink(tempPath).catch(() => undefined);
      throw fsError(err, path);
    }
  }

  /** True while the bytes bypass the page cache (direct-sink.ts), for tests and diagnostics. */
  get writesDirect(): boolean {
    return this.sink.direct;
  }

  /** Appends the next bytes; refuses bytes past the announced size. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.written + chunk.byteLength > this.info.size) throw new RemoteError('too-large', `${this.path}: the sender sent more than the ${this.info.size} bytes it announced`);
    // The thread pool writes the bytes while this thread hashes them
    // (sha256 is the agent's largest cost in an upload); one after the
    // other, each chunk took the sum of both. A failed write ends this
    // FileUpload, so a hash that ran ahead of it is never used: a resume
    // hashes the temp file's bytes again (hashExisting).
    const writing = this.sink.write(chunk);
    this.hash.update(chunk);
    try {
      await writing;
    } catch (err) {
      throw fsError(err, this.path);
    }
    this.written += chunk.byteLength;
  }

  /** Verifies the whole file against the sender's sha256 and renames it into place. A mismatch deletes the temp file. */
  async finish(senderSha256: string): Promise<{ path: string; sha256: string; size: number }> {
    if (this.written !== this.info.size) throw new RemoteError('protocol', `${this.path}: the sender ended after ${this.written} of ${this.info.size} bytes`);
    const sha256 = this.hash.digest('hex');
    if (sha256 !== senderSha256.toLowerCase()) {
      await this.discard();
      throw new RemoteError('checksum-mismatch', `${this.path}: received bytes hash to ${sha256}, the sender's file to ${senderSha256}; nothing was written under the real name, send it again`);
    }
    try {
      await this.file.chmod(this.info.mode);
      if (this.owner) await this.file.chown(this.owner.uid, this.owner.gid);
      await this.sink.finish(this.info.size);
      await this.sink.close();
      await this.file.close();
      await rename(this.tempPath, this.path);
      await removeStaleTemps(this.path);
      const dir = await open(dirname(this.path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      await this.discard();
      throw fsError(err, this.path);
    } finally {
      this.release();
    }
    return { path: this.path, sha256, size: this.written };
  }

  /** The transfer was cut: keep the temp file (and its bytes) for a resume. */
  async suspend(): Promise<void> {
    await this.sink.flush().catch(() => undefined); // a failed write: the resume starts before it
    await this.sink.close();
    await this.file.close().catch(() => undefined);
    this.release();
  }

  /** The transfer failed for good: remove the temp file. */
  async discard(): Promise<void> {
    await this.sink.close();
    await this.file.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
    this.release();
  }

  private release(): void {
    if (this.finished) return;
    this.finished = true;
    busy.delete(this.path);
    activeTemps.delete(this.tempPath);
  }

  private async hashExisting(): Promise<void> {
    const buf = Buffer.allocUnsafe(64 * 1024);
    const reader = await open(this.tempPath, 'r');
    try {
      let pos = 0;
      while (pos < this.info.offset) {
        const { bytesRead } = await reader.read(buf, 0, Math.min(buf.length, this.info.offset - pos), pos);
        if (bytesRead === 0) break;
        this.hash.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
    } finally {
      await reader.close();
    }
  }
}

async function checkSpace(folder: string, needed: number, shown: string): Promise<void> {
  const fs = await statfs(folder);
  const free = fs.bavail * fs.bsize;
  if (free < needed) throw new RemoteError('no-space', `${shown}: needs ${needed} more bytes, the file system has ${free} free`);
}

/**
 * Creates the missing folders of an upload's path, outermost first (0755 less
 * the umask, the configured upload owner/group). Each one is checked again
 * once made: a link swapped in on the way makes the upload fail, not escape.
 * A folder made meanwhile by another upload (a dropped folder's files run
 * side by side) is fine.
 */
export async function makeFolders(policy: RootPolicy, folders: string[], owner: { uid: number; gid: number } | undefined, shown: string): Promise<void> {
  for (const folder of folders) {
    let made = true;
    try {
      await mkdir(folder, 0o755);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      made = false;
    }
    const real = await realpath(folder);
    if (real !== folder) {
      if (made) await rmdir(folder).catch(() => undefined);
      throw new RemoteError('outside-roots', `${shown}: ${folder} changed while it was being created (it leads to ${real}); allowed: ${policy.config.roots.join(', ')}`);
    }
    if (!(await stat(real)).isDirectory()) throw new RemoteError('not-regular', `${shown}: ${folder} exists and is not a folder`);
    if (made && owner) await chown(folder, owner.uid, owner.gid);
  }
}

/** `.NAME.fleet-upload-SIZE[-ID]`; a hash replaces NAME when that would pass the 255-byte name limit. */
export function tempName(name: string, size: number, transferId?: string): string {
  const suffix = `.fleet-upload-${size}${transferId ? `-${transferId}` : ''}`;
  const full = `.${name}${suffix}`;
  if (Buffer.byteLength(full) <= 255) return full;
  return `.${shortName(name)}${suffix}`;
}

function shortName(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}

/** Removes temp files of earlier, abandoned uploads of `target` (other sizes or transfer ids): the file is now complete. */
async function removeStaleTemps(target: string): Promise<void> {
  const name = basename(target);
  const escape = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^\\.(${escape(name)}|${shortName(name)})\\.fleet-upload-\\d+(-[A-Za-z0-9_-]+)?$`);
  for (const entry of await readdir(dirname(target)).catch(() => [] as string[])) {
    if (pattern.test(entry)) await unlink(join(dirname(target), entry)).catch(() => undefined);
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    const f = await open(path, 'r');
    try {
      return (await f.stat()).size;
    } finally {
      await f.close();
    }
  } catch {
    return -1;
  }
}

function numericOr(name: string, lookup: () => number | undefined, what: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const id = lookup();
  if (id === undefined) throw new RemoteError('misconfigured', `${what} "${name}" does not exist on this device; fix remote.files.${what === 'upload owner' ? 'uploadOwner' : 'uploadGroup'}`);
  return id;
}

function lookupGroup(name: string): number | undefined {
  try {
    const line = execFileSync('getent', ['group', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const gid = Number(line.split(':')[2]);
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}

/** uid/gid for uploads (-1 keeps the agent's), or undefined when neither is configured. */
export function resolveOwner(owner: string | undefined, group: string | undefined): { uid: number; gid: number } | undefined {
  if (owner === undefined && group === undefined) return undefined;
  const uid = owner === undefined ? -1 : numericOr(owner, () => lookupUser(owner)?.uid, 'upload owner');
  const gid = group === undefined ? -1 : numericOr(group, () => lookupGroup(group), 'upload group');
  return { uid, gid };
}
