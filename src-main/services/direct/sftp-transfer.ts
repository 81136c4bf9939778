import { randomBytes } from 'node:crypto';
import { sha256File } from '../../../proto/file-sha256';
import { chmod, lstat, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { DirectError } from './direct-error';
import { makeDirectory, remoteSha256, sftpCall, sftpError } from './remote-files';
import type { SshConnection } from './ssh-connection';
import { ProgressMeter, type TransferProgress } from './transfer-progress';

export interface TransferOptions {
  onProgress?: (p: TransferProgress) => void;
  /** aborting ends the transfer's own SFTP session and removes the partial file */
  signal?: AbortSignal;
  /** SFTP requests in flight (default 32) */
  concurrency?: number;
  /** bytes per SFTP request (default 255 KiB, OpenSSH's largest; ssh2 splits to a smaller server limit) */
  chunkSize?: number;
  /** compare sha256 on both sides (default true; skipped, verified=false, when the device has no sha256sum) */
  verify?: boolean;
  /** permission bits for the written file (default: the source's) */
  mode?: number;
}

export interface TransferResult {
  bytes: number;
  /** sha256 of the data as the console has it (hex) */
  sha256: string;
  /** true when the device's sha256sum agreed */
  verified: boolean;
  elapsedMs: number;
  bytesPerSecond: number;
}

// Measured with `BENCH_TUNE=1 bench/direct-sftp.ts` against OpenSSH on
// loopback: requests as large as OpenSSH's sftp-server takes (255 KiB, its
// limits@openssh.com max-write-length) beat ssh2's 32 KiB default by far
// (fewer round trips and less per-request work in JS); beyond ~32 in flight
// the server's 2 MiB channel window is full anyway. 32 x 255 KiB = 8 MiB of
// buffer per transfer.
const DEFAULT_CONCURRENCY = 32;
const DEFAULT_CHUNK = 255 * 1024;

/**
 * Uploads a local file to `remotePath` on the device: written under a
 * temporary name next to it, checked with the device's sha256sum, then
 * renamed into place — an interrupted or corrupt upload never shows under the
 * real name.
 */
export async function uploadFile(conn: SshConnection, localPath: string, remotePath: string, options: TransferOptions = {}): Promise<TransferResult> {
  const what = `upload ${localPath} to ${remotePath} on device ${conn.target.deviceId}`;
  const st = await lstat(localPath).catch((err: Error) => {
    throw new DirectError('not-found', `cannot ${what}: ${err.message}`, { cause: err });
  });
  if (!st.isFile()) throw new DirectError('transfer-failed', `cannot ${what}: only regular files can be uploaded`);
  const temp = posix.join(posix.dirname(remotePath), `.${posix.basename(remotePath)}.part-${randomBytes(4).toString('hex')}`);
  const t0 = performance.now();
  // A dropped folder uploads its files to paths that do not exist yet.
  await makeDirectory(conn, posix.dirname(remotePath));
  const localHash = sha256File(localPath);
  localHash.catch(() => {});
  try {
    await runTransfer(conn, what, st.size, options, (sftp, step, done) =>
      sftp.fastPut(localPath, temp, { ...tuning(options), mode: options.mode ?? st.mode & 0o7777, step }, done),
    );
    const sha256 = await localHash;
    const verified = options.verify === false ? false : await verifyRemote(conn, temp, sha256, what);
    const sftp = await conn.sftp();
    await sftpCall.rename(sftp, temp, remotePath).catch((err: Error) => {
      throw sftpError(`${what} (renaming the finished file into place)`, err);
    });
    return result(st.size, sha256, verified, t0);
  } catch (err) {
    await removeRemote(conn, temp);
    throw err;
  }
}

/**
 * Downloads a device file to `localPath`: written under a temporary name
 * next to it, its sha256 compared with the device's sha256sum, then renamed
 * into place; the file's permission bits are kept.
 */
export async function downloadFile(conn: SshConnection, remotePath: string, localPath: string, options: TransferOptions = {}): Promise<TransferResult> {
  const what = `download ${remotePath} from device ${conn.target.deviceId}`;
  const sftp = await conn.sftp();
  const st = await sftpCall.stat(sftp, remotePath).catch((err: Error) => {
    throw sftpError(what, err);
  });
  if ((st.mode & 0o170000) !== 0o100000) throw new DirectError('transfer-failed', `cannot ${what}: it is not a regular file`);
  await stat(dirname(localPath)).catch((err: Error) => {
    throw new DirectError('not-found', `cannot ${what}: the local folder ${dirname(localPath)} does not exist`, { cause: err });
  });
  const temp = join(dirname(localPath), `.${basename(localPath)}.part-${randomBytes(4).toString('hex')}`);
  const t0 = performance.now();
  // The device hashes its file while it is being sent: only the local hash
  // of the received copy is left for after the transfer.
  const remoteHash = options.verify === false ? Promise.resolve(undefined) : remoteSha256(conn, remotePath);
  remoteHash.catch(() => {});
  try {
    await runTransfer(conn, what, st.size, options, (s, step, done) => s.fastGet(remotePath, temp, { ...tuning(options), fileSize: st.size, step }, done));
    const [sha256, theirs] = await Promise.all([sha256File(temp), remoteHash]);
    if (theirs && theirs !== sha256) {
      throw new DirectError('integrity', `cannot ${what}: the copy's sha256 ${sha256} differs from the device's ${theirs} (the file changed during the download, or the data was damaged); try again`);
    }
    await chmod(temp, options.mode ?? st.mode & 0o777);
    await rename(temp, localPath);
    return result(st.size, sha256, theirs !== undefined, t0);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

type Start = (sftp: SFTPWrapper, step: (total: number) => void, done: (err?: Error | null) => void) => void;

// Runs one fastPut/fastGet on an SFTP session of its own, so that cancelling
// (ending that session) fails only this transfer's outstanding requests.
async function runTransfer(conn: SshConnection, what: string, size: number, options: TransferOptions, start: Start): Promise<void> {
  if (options.signal?.aborted) throw cancelled(what);
  const sftp = await conn.openSftp();
  const meter = new ProgressMeter(size, options.onProgress);
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    sftp.end();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) =>
      start(
        sftp,
        (total) => meter.update(total),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    meter.finish();
  } catch (err) {
    if (aborted) throw cancelled(what);
    throw sftpError(what, err as Error);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!aborted) sftp.end();
  }
}

function tuning(o: TransferOptions): { concurrency: number; chunkSize: number } {
  return { concurrency: o.concurrency ?? DEFAULT_CONCURRENCY, chunkSize: o.chunkSize ?? DEFAULT_CHUNK };
}

function cancelled(what: string): DirectError {
  return new DirectError('cancelled', `${what}: cancelled; nothing was left under the file's name`);
}

async function verifyRemote(conn: SshConnection, path: string, expected: string, what: string): Promise<boolean> {
  const theirs = await remoteSha256(conn, path);
  if (theirs === undefined) return false;
  if (theirs !== expected) throw new DirectError('integrity', `cannot ${what}: the device's copy has sha256 ${theirs}, not ${expected}; the data was damaged on the way, try again`);
  return true;
}

async function removeRemote(conn: SshConnection, path: string): Promise<void> {
  if (conn.closed) return;
  try {
    await sftpCall.unlink(await conn.sftp(), path);
  } catch {
    // Best effort: the partial file may never have been created.
  }
}

function result(bytes: number, sha256: string, verified: boolean, t0: number): TransferResult {
  const elapsedMs = performance.now() - t0;
  return { bytes, sha256, verified, elapsedMs, bytesPerSecond: elapsedMs > 0 ? (bytes * 1000) / elapsedMs : 0 };
}

