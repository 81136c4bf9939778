import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { WriteBehind } from '../../proto/write-behind';
import { CliError, EXIT, UsageError } from '../cli-error';
import { ChannelRefused, openChannel, type HubLink } from './channel-client';
import { BULK_WINDOW_BYTES } from './credit';
import { CANCEL_REASON, type TransferOptions, type TransferResult } from './file-upload';
import { TransferCancelled, TransferCut, withResumes } from './resume';
import { refusalError } from './refusal';

// Download of DEVICE:PATH to a local file. The device sends `file` (size,
// mode), the data as our credit allows, and eof with the sha256 of the whole
// file. Bytes go to a hidden temporary file next to the target, named after
// the device and its path; only when our own sha256 of the whole file equals
// the device's is it fsynced, given the device file's mode and renamed into
// place. Credit is granted back as the bytes are written, so a slow disk
// slows the device.
//
// A cut keeps the temporary file: the next run of the same copy hashes the
// bytes it holds and asks the device for the rest (FileOpen.offset); the
// device's sha256 still covers the whole file. If the file changed on the
// device meanwhile (the sha256 differs, or it is now shorter), the copy
// starts over from byte 0 once. A refusal of the file itself, a mismatch of
// a fresh copy or a cancel (Ctrl-C: `signal`) removes the temporary file.

/** Refusals that say the file cannot be had: bytes kept for a resume are useless. */
const FINAL_CODES = new Set(['not-found', 'outside-roots', 'not-regular', 'too-large', 'permission', 'disabled', 'forbidden']);
const HASH_READ_BYTES = 1024 * 1024;

/** `./` or an existing folder gets the device file's name, like cp and scp. */
export async function localTarget(local: string, remotePath: string): Promise<string> {
  const isDir = local.endsWith('/') || (await stat(local).then((s) => s.isDirectory(), () => false));
  return isDir ? join(local, basename(remotePath)) : local;
}

/** The temporary file of a download of DEVICE:PATH into `target`: the same for every run of that copy. */
export function downloadTempPath(target: string, deviceId: string, remotePath: string): string {
  const key = createHash('sha256').update(`${deviceId}\0${remotePath}`).digest('hex').slice(0, 16);
  const suffix = `.fleetctl-part-${key}`;
  const name = basename(target);
  const full = `.${name}${suffix}`;
  return join(dirname(target), Buffer.byteLength(full) <= 255 ? full : `.${createHash('sha256').update(name).digest('hex').slice(0, 32)}${suffix}`);
}

/** Downloads, trying again after a cut (resume.ts): each try resumes from the bytes kept here. */
export async function downloadFile(link: HubLink, deviceId: string, remotePath: string, local: string, options: TransferOptions = {}): Promise<TransferResult> {
  const target = await localTarget(local, remotePath);
  const temp = downloadTempPath(target, deviceId, remotePath);
  return withResumes(() => downloadOnce(link, deviceId, remotePath, target, temp, options), options, async () => {
    // Ctrl-C between tries: as for a cancel during one, no partial file stays.
    await unlink(temp).catch(() => undefined);
    return new TransferCancelled(`the download of ${remotePath}`);
  });
}

async function downloadOnce(link: HubLink, deviceId: string, remotePath: string, target: string, temp: string, options: TransferOptions): Promise<TransferResult> {
  const file = await open(temp, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600).catch((err: Error) => {
    throw new UsageError(`cannot write into ${dirname(target)}: ${err.message}`);
  });
  let keep = false;
  try {
    const kept = (await file.stat()).size;
    const flusher = new WriteBehind(file);
    let attempt = await oneAttempt(link, deviceId, remotePath, file, flusher, temp, kept, options);
    // The bytes kept were of another version of the file: start over, once.
    if (kept > 0 && attempt.kind === 'stale') {
      await file.truncate(0);
      attempt = await oneAttempt(link, deviceId, remotePath, file, flusher, temp, 0, options);
    }
    if (attempt.kind === 'failed') {
      keep = attempt.resumable && (await file.stat()).size > 0;
      if (keep) attempt.error.message += `; run the same command again to resume (the bytes received are kept in ${temp})`;
      throw attempt.error;
    }
    if (attempt.kind === 'stale') throw new CliError(attempt.message, EXIT.failed);
    await file.chmod(attempt.mode & 0o777);
    await flusher.sync();
    await file.close();
    await rename(temp, target);
    keep = true;
    await syncFolder(dirname(target));
    return { path: target, size: attempt.size, sha256: attempt.sha256, resumedFrom: attempt.offset };
  } finally {
    await file.close().catch(() => undefined);
    if (!keep) await unlink(temp).catch(() => undefined);
  }
}

type Attempt =
  | { kind: 'done'; size: number; mode: number; sha256: string; offset: number }
  /** a cut or a refusal; `resumable`: what was written may be resumed by the next run */
  | { kind: 'failed'; error: CliError; resumable: boolean }
  /** the device's file is not the one the kept bytes came from (or a fresh copy did not match) */
  | { kind: 'stale'; message: string };

function refused(code: string, message: string, offset: number): Attempt {
  // An offset past the end of the device's file: it is shorter now.
  if (offset > 0 && code === 'protocol') return { kind: 'stale', message };
  return { kind: 'failed', error: refusalError(code, message), resumable: !FINAL_CODES.has(code) };
}

async function oneAttempt(link: HubLink, deviceId: string, remotePath: string, file: FileHandle, flusher: WriteBehind, temp: string, offset: number, options: TransferOptions): Promise<Attempt> {
  const hash = createHash('sha256');
  await hashPrefix(file, offset, hash);
  if (options.signal?.aborted) throw new TransferCancelled(`the download of ${remotePath}`);
  let channel;
  try {
    channel = await openChannel(link, deviceId, { kind: { $case: 'file', file: { op: 'download', path: remotePath, offset } } }, { windowBytes: BULK_WINDOW_BYTES });
  } catch (err) {
    if (err instanceof ChannelRefused) return refused(err.code, err.message, offset);
    if (err instanceof CliError) return { kind: 'failed', error: err, resumable: true };
    throw err;
  }
  const cancel = (): void => channel.close(CANCEL_REASON);
  options.signal?.addEventListener('abort', cancel);
  if (options.signal?.aborted) cancel();
  let info: { size: number; mode: number } | undefined;
  let deviceSha: string | undefined;
  let written = offset;
  let writeError: Error | undefined;
  // Writes run one after the other, in arrival order; the credit bounds the queue.
  let writes = Promise.resolve();
  channel.onFrame((frame) => {
    if (frame.$case === 'file') info = { size: frame.file.size, mode: frame.file.mode };
    else if (frame.$case === 'eof') deviceSha = frame.eof.sha256;
    else if (frame.$case === 'data') {
      const data = frame.data;
      hash.update(data);
      writes = writes.then(async () => {
        if (writeError) return;
        try {
          let done = 0;
          while (done < data.byteLength) done += (await file.write(data, done, data.byteLength - done, written + done)).bytesWritten;
          written += data.byteLength;
          flusher.wrote(data.byteLength);
          channel.consumed(data.byteLength);
          options.onProgress?.(written, info?.size ?? written, offset);
        } catch (err) {
          writeError = err as Error;
          channel.close(`the operator's disk failed: ${writeError.message}`);
        }
      });
    }
  });
  const end = await channel.ended;
  options.signal?.removeEventListener('abort', cancel);
  await writes;
  if (options.signal?.aborted) throw new TransferCancelled(`the download of ${remotePath}`);
  if (writeError) throw new CliError(`cannot write ${temp}: ${writeError.message}`, EXIT.failed);
  if (end.error) return refused(end.error.code, end.error.message, offset);
  if (deviceSha === undefined || !info) return { kind: 'failed', error: new TransferCut(`the download was cut after ${written} of ${info?.size ?? '?'} bytes (${end.reason})`), resumable: true };
  const sha256 = hash.digest('hex');
  if (deviceSha !== sha256 || written !== info.size) {
    return { kind: 'stale', message: `received ${written} of ${info.size} bytes hashing to ${sha256}, the device's file hashes to ${deviceSha}: nothing was written to the real name, copy again` };
  }
  return { kind: 'done', size: written, mode: info.mode, sha256, offset };
}

/** Hashes the first `length` bytes of the kept temporary file (what the device will not send again). */
async function hashPrefix(file: FileHandle, length: number, hash: Hash): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(HASH_READ_BYTES, Math.max(length, 1)));
  for (let pos = 0; pos < length; ) {
    const { bytesRead } = await file.read(buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) throw new CliError(`the kept part of the download shrank while it was read; run the command again`, EXIT.failed);
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

async function syncFolder(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
