import { createHash } from 'node:crypto';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WriteBehind } from '../../../proto/write-behind';
import type { RemoteTransferResult } from '../../common/console-api';
import type { HubSession } from '../connection/hub-session';
import { BULK_WINDOW_BYTES, CreditGranter } from './credit';
import { openHubChannel } from './hub-channel';
import { RemoteFailure } from './remote-failure';

export interface HubDownloadOptions {
  signal?: AbortSignal;
  onProgress?: (bytes: number, total: number) => void;
  /** attempts after a cut, each resuming where the last stopped; default 3 */
  resumes?: number;
}

// Downloads one file from the device to `localPath`: bytes go to a
// temporary sibling (`.NAME.fleet-download`), hashed as they are written;
// credit goes back to the device only once they are written, so a slow disk
// slows the device. When the device's eof sha256 equals ours the file is
// fsynced (most of it on the way to disk already: proto/write-behind.ts) and renamed into place; a mismatch or cancel removes it. A cut
// channel is resumed from the bytes already written (the device hashes the
// part before the offset too, so the check still covers the whole file).
export async function hubDownload(session: HubSession, deviceId: string, remotePath: string, localPath: string, opts: HubDownloadOptions = {}): Promise<RemoteTransferResult> {
  if (typeof remotePath !== 'string' || !remotePath.startsWith('/')) throw new RemoteFailure('protocol', `the device path must be absolute, got ${JSON.stringify(remotePath)}`);
  await checkFolder(dirname(localPath));
  const temp = join(dirname(localPath), `.${basename(localPath)}.fleet-download`);
  const file = await open(temp, 'w', 0o600);
  const hash = createHash('sha256');
  const flusher = new WriteBehind(file);
  let written = 0;
  let done = false;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await oneAttempt(session, deviceId, remotePath, written, file, hash, (n) => {
          written += n;
          flusher.wrote(n);
        }, opts);
        await flusher.sync();
        await file.chmod(r.mode || 0o644);
        await file.close();
        await rename(temp, localPath);
        done = true;
        return { path: localPath, size: written, sha256: r.sha256 };
      } catch (err) {
        const resumable = err instanceof RemoteFailure && (err.code === 'connection-lost' || err.code === 'closed') && !opts.signal?.aborted;
        if (!resumable || attempt >= (opts.resumes ?? 3)) throw err;
        // 1, 2, 4 s: time for a restarting hub or a reconnecting device to come back.
        await sleep(1000 * 2 ** attempt, undefined, { signal: opts.signal }).catch(() => {
          throw new RemoteFailure('cancelled', 'transfer cancelled; nothing was left under the real name');
        });
      }
    }
  } finally {
    if (!done) {
      await file.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
    }
  }
}

async function oneAttempt(
  session: HubSession,
  deviceId: string,
  remotePath: string,
  offset: number,
  file: FileHandle,
  hash: ReturnType<typeof createHash>,
  wrote: (n: number) => void,
  opts: HubDownloadOptions,
): Promise<{ sha256: string; mode: number }> {
  if (opts.signal?.aborted) throw new RemoteFailure('cancelled', 'download cancelled');
  const channel = await openHubChannel(session, deviceId, { kind: { $case: 'file', file: { op: 'download', path: remotePath, offset } } });
  return new Promise((resolve, reject) => {
    let total = 0;
    let mode = 0;
    let pos = offset;
    let chain = Promise.resolve();
    let failed = false;
    const fail = (err: RemoteFailure): void => {
      if (failed) return;
      failed = true;
      channel.close(`${err.code}: ${err.message}`);
      reject(err);
    };
    const abort = (): void => fail(new RemoteFailure('cancelled', 'download cancelled'));
    opts.signal?.addEventListener('abort', abort);
    const granter = new CreditGranter((bytes) => channel.send({ $case: 'window', window: { bytes } }), BULK_WINDOW_BYTES);
    channel.onFrame((frame) => {
      if (failed) return;
      if (frame.$case === 'file') {
        total = frame.file.size;
        mode = frame.file.mode;
        if (frame.file.offset !== offset) return fail(new RemoteFailure('protocol', `the device resumed at ${frame.file.offset}, not ${offset}`));
        granter.start();
      } else if (frame.$case === 'data') {
        try {
          granter.received(frame.data.byteLength);
        } catch (err) {
          return fail(new RemoteFailure('protocol', (err as Error).message));
        }
        const bytes = frame.data;
        chain = chain.then(async () => {
          if (failed) return;
          let at = 0;
          while (at < bytes.byteLength) at += (await file.write(bytes, at, bytes.byteLength - at, pos + at)).bytesWritten;
          pos += bytes.byteLength;
          hash.update(bytes);
          wrote(bytes.byteLength);
          opts.onProgress?.(pos, total);
          granter.consumed(bytes.byteLength);
        });
        chain.catch((err: Error) => fail(new RemoteFailure('local-write', `cannot write ${file.fd}: ${err.message}`)));
      } else if (frame.$case === 'eof') {
        const theirs = frame.eof.sha256 ?? '';
        chain = chain.then(() => {
          if (failed) return;
          const ours = hash.digest('hex');
          opts.signal?.removeEventListener('abort', abort);
          if (ours !== theirs) return fail(new RemoteFailure('checksum-mismatch', `${remotePath}: received bytes hash to ${ours}, the device's file to ${theirs}; nothing was saved`));
          failed = true; // settled
          channel.close('done');
          resolve({ sha256: ours, mode });
        });
      }
    });
    channel.onClose((reason, error) => {
      opts.signal?.removeEventListener('abort', abort);
      if (failed) return;
      chain = chain.then(() => {
        if (failed) return;
        failed = true;
        reject(error ?? new RemoteFailure('connection-lost', `the download of ${remotePath} was cut (${reason})`));
      });
    });
  });
}

async function checkFolder(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new RemoteFailure('local-folder', `${dir} is not a folder on this computer: choose an existing folder to save into`);
}
