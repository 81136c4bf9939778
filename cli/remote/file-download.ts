import { createHash, randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError, EXIT, UsageError } from '../cli-error';
import type { HubLink } from './channel-client';
import type { ProgressListener, TransferResult } from './file-upload';
import { openExplained } from './hub-link';
import { refusalError } from './refusal';

// Download of DEVICE:PATH to a local file. The device sends `file` (size,
// mode), the data as our credit allows, and eof with the sha256 of the whole
// file. Bytes go to a hidden temporary file next to the target; only when
// our own sha256 of what we wrote equals the device's is it fsynced, given
// the device file's mode and renamed into place. Credit is granted back as
// the bytes are written, so a slow disk slows the device.

/** `./` or an existing folder gets the device file's name, like cp and scp. */
export async function localTarget(local: string, remotePath: string): Promise<string> {
  const isDir = local.endsWith('/') || (await stat(local).then((s) => s.isDirectory(), () => false));
  return isDir ? join(local, basename(remotePath)) : local;
}

export async function downloadFile(link: HubLink, deviceId: string, remotePath: string, local: string, onProgress?: ProgressListener): Promise<TransferResult> {
  const target = await localTarget(local, remotePath);
  const temp = join(dirname(target), `.${basename(target)}.fleetctl-${randomBytes(6).toString('hex')}`);
  const file = await open(temp, 'wx', 0o600).catch((err: Error) => {
    throw new UsageError(`cannot write into ${dirname(target)}: ${err.message}`);
  });
  let keep = false;
  try {
    const channel = await openExplained(link, deviceId, { kind: { $case: 'file', file: { op: 'download', path: remotePath, offset: 0 } } });
    const hash = createHash('sha256');
    let info: { size: number; mode: number } | undefined;
    let deviceSha: string | undefined;
    let written = 0;
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
            channel.consumed(data.byteLength);
            onProgress?.(written, info?.size ?? written, 0);
          } catch (err) {
            writeError = err as Error;
            channel.close(`the operator's disk failed: ${writeError.message}`);
          }
        });
      }
    });
    const end = await channel.ended;
    await writes;
    if (writeError) throw new CliError(`cannot write ${temp}: ${writeError.message}`, EXIT.failed);
    if (end.error) throw refusalError(end.error.code, end.error.message);
    if (deviceSha === undefined || !info) throw new CliError(`the download was cut after ${written} bytes (${end.reason}): run the same command again`, EXIT.failed);
    const sha256 = hash.digest('hex');
    if (deviceSha !== sha256 || written !== info.size) {
      throw new CliError(`received ${written} of ${info.size} bytes hashing to ${sha256}, the device's file hashes to ${deviceSha}: nothing was written to ${target}, copy again`, EXIT.failed);
    }
    await file.chmod(info.mode & 0o777);
    await file.sync();
    await file.close();
    await rename(temp, target);
    keep = true;
    await syncFolder(dirname(target));
    return { path: target, size: written, sha256, resumedFrom: 0 };
  } finally {
    if (!keep) {
      await file.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
    }
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
