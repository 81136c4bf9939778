import { randomUUID } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ConsoleEvent, RemoteEntry, RemoteListing, RemoteTransferProgress, RemoteTransferResult, RemoteUploadBegin, RemoteUploadTicket } from '../../common/console-api';
import type { HubSession } from '../connection/hub-session';
import { ProgressMeter } from '../direct/transfer-progress';
import { openHubChannel } from './hub-channel';
import { hubDownload } from './hub-download';
import { HubUpload } from './hub-upload';
import { FrameQueue } from './frame-queue';
import { failureInfo, RemoteFailure } from './remote-failure';

const CHUNK_BYTES = 256 * 1024;
const MAX_IN_FLIGHT = 4;
const LIST_LIMIT = 500;
/** an upload the renderer stopped feeding is dropped after this long */
const IDLE_MS = 60_000;

interface RendererUpload {
  upload: HubUpload;
  /** bytes accepted so far, in order */
  next: number;
  meter: ProgressMeter;
  idle: ReturnType<typeof setTimeout>;
}

// File operations relayed by the hub: folder pages, uploads fed by the
// renderer (a dropped file, in base64 chunks) or read from this computer,
// and downloads to a local path. Transfers of local files report through
// remote-transfer-* events and resume by themselves after a cut.
export class HubFiles {
  private readonly uploads = new Map<string, RendererUpload>();
  private readonly transfers = new Map<string, AbortController>();

  constructor(
    private readonly session: HubSession,
    private readonly emit: (e: ConsoleEvent) => void,
  ) {}

  async list(deviceId: string, path: string, cursor?: string): Promise<RemoteListing> {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new RemoteFailure('protocol', `give an absolute folder path on the device, got ${JSON.stringify(path)}`);
    // Over JSON an absent cursor arrives as null: only a non-empty string is a cursor.
    const after = typeof cursor === 'string' && cursor ? cursor : undefined;
    const channel = await openHubChannel(this.session, deviceId, { kind: { $case: 'file', file: { op: 'list', path, cursor: after, limit: LIST_LIMIT } } });
    const q = new FrameQueue(channel, `listing ${path}`);
    const { listing } = await q.expect('listing');
    channel.close('done');
    return {
      path: listing.path,
      entries: listing.entries.map((e) => ({ name: e.name, path: posix.join(listing.path, e.name), type: entryType(e.type), size: e.size, mode: e.mode, mtimeMs: e.mtimeMs })),
      ...(listing.nextCursor ? { nextCursor: listing.nextCursor } : {}),
    };
  }

  /** Makes the folder (and missing parents) on the device; the device answers with the folder's facts, then closes. */
  async mkdir(deviceId: string, path: string, mode?: number): Promise<RemoteEntry> {
    const folder = checkFolderPath(path);
    const bits = checkMode(mode);
    const channel = await openHubChannel(this.session, deviceId, { kind: { $case: 'file', file: { op: 'mkdir', path: folder, ...(bits !== undefined ? { mode: bits } : {}) } } });
    const q = new FrameQueue(channel, `making the folder ${folder}`);
    try {
      const { file } = await q.expect('file');
      return { name: posix.basename(folder), path: folder, type: 'dir', size: 0, mode: file.mode, mtimeMs: file.mtimeMs };
    } finally {
      channel.close('done');
    }
  }

  async uploadBegin(deviceId: string, params: RemoteUploadBegin): Promise<RemoteUploadTicket> {
    const upload = await HubUpload.open(this.session, { deviceId, path: params.path, size: params.size, mode: params.mode ?? undefined, transferId: params.transferId || undefined });
    const uploadId = randomUUID();
    const entry: RendererUpload = { upload, next: 0, meter: new ProgressMeter(params.size, undefined), idle: this.idleTimer(uploadId) };
    this.uploads.set(uploadId, entry);
    return { uploadId, offset: upload.offset, chunkBytes: CHUNK_BYTES, maxInFlight: MAX_IN_FLIGHT };
  }

  async uploadChunk(uploadId: string, offset: number, data: string): Promise<RemoteTransferProgress> {
    const entry = this.upload(uploadId);
    if (offset !== entry.next) throw new RemoteFailure('protocol', `chunks must come in order: expected offset ${entry.next}, got ${offset}`);
    if (typeof data !== 'string') throw new RemoteFailure('protocol', 'chunk data must be base64 text');
    const bytes = Buffer.from(data, 'base64');
    entry.next += bytes.byteLength;
    clearTimeout(entry.idle);
    entry.idle = this.idleTimer(uploadId);
    try {
      await entry.upload.feed(bytes);
    } catch (err) {
      this.drop(uploadId);
      throw err;
    }
    entry.meter.update(entry.upload.bytesFed);
    return entry.meter.current();
  }

  async uploadFinish(uploadId: string): Promise<RemoteTransferResult> {
    const entry = this.upload(uploadId);
    try {
      return await entry.upload.finish();
    } finally {
      this.drop(uploadId);
    }
  }

  /** Cancels: the device removes what it wrote (a renderer upload's transfer id is never reused). */
  uploadCancel(uploadId: string, reason?: string): void {
    this.uploads.get(uploadId)?.upload.cancel(reason);
    this.drop(uploadId);
  }

  /** Uploads a local file; a cut resumes (same transfer id) up to 3 times. */
  async uploadFile(deviceId: string, localPath: string, remotePath: string): Promise<{ transferId: string }> {
    const st = await stat(localPath).catch(() => null);
    if (!st?.isFile()) throw new RemoteFailure('local-file', `${localPath} is not a file on this computer`);
    return this.start(async (signal, meter) => {
      const transferId = randomUUID();
      for (let attempt = 0; ; attempt++) {
        const upload = await HubUpload.open(this.session, { deviceId, path: remotePath, size: st.size, mode: st.mode & 0o777, transferId });
        signal.addEventListener('abort', () => upload.cancel());
        try {
          const fh = await open(localPath, 'r');
          try {
            const buf = Buffer.allocUnsafe(CHUNK_BYTES);
            for (let pos = 0; pos < st.size; ) {
              const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK_BYTES, st.size - pos), pos);
              if (bytesRead === 0) throw new RemoteFailure('local-file', `${localPath} shrank while it was sent`);
              await upload.feed(Buffer.from(buf.subarray(0, bytesRead)));
              pos += bytesRead;
              meter.update(pos);
            }
          } finally {
            await fh.close();
          }
          return await upload.finish();
        } catch (err) {
          if (signal.aborted) throw new RemoteFailure('cancelled', 'upload cancelled');
          if (!(err instanceof RemoteFailure && err.code === 'connection-lost') || attempt >= 3) throw err;
        }
      }
    }, st.size);
  }

  async download(deviceId: string, remotePath: string, localPath: string): Promise<{ transferId: string }> {
    return this.start((signal, meter) => hubDownload(this.session, deviceId, remotePath, localPath, { signal, onProgress: (bytes, total) => meter.update(bytes, total) }), 0);
  }

  cancelTransfer(transferId: string): void {
    this.transfers.get(transferId)?.abort();
  }

  closeAll(): void {
    for (const id of [...this.uploads.keys()]) this.uploadCancel(id, 'cancelled: the console is closing');
    for (const c of this.transfers.values()) c.abort();
  }

  private start(run: (signal: AbortSignal, meter: { update(bytes: number, total?: number): void }) => Promise<RemoteTransferResult>, size: number): { transferId: string } {
    const transferId = randomUUID();
    const abort = new AbortController();
    this.transfers.set(transferId, abort);
    let meter = new ProgressMeter(size, (progress) => this.emit({ type: 'remote-transfer-progress', transferId, progress }));
    let total = size;
    const handle = {
      update: (bytes: number, t?: number) => {
        if (t !== undefined && t !== total) {
          total = t;
          meter = new ProgressMeter(t, (progress) => this.emit({ type: 'remote-transfer-progress', transferId, progress }));
        }
        meter.update(bytes);
      },
    };
    run(abort.signal, handle)
      .then(
        (result) => {
          meter.finish();
          this.emit({ type: 'remote-transfer-end', transferId, result });
        },
        (err) => this.emit({ type: 'remote-transfer-end', transferId, error: failureInfo(abort.signal.aborted ? new RemoteFailure('cancelled', 'transfer cancelled; nothing was left under the real name') : err) }),
      )
      .finally(() => this.transfers.delete(transferId));
    return { transferId };
  }

  private upload(uploadId: string): RendererUpload {
    const entry = this.uploads.get(uploadId);
    if (!entry) throw new RemoteFailure('closed', `upload ${uploadId} is not open (it finished, failed or was cancelled)`);
    return entry;
  }

  private drop(uploadId: string): void {
    const entry = this.uploads.get(uploadId);
    if (!entry) return;
    clearTimeout(entry.idle);
    this.uploads.delete(uploadId);
  }

  private idleTimer(uploadId: string): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => this.uploadCancel(uploadId, `cancelled: the console sent nothing for ${IDLE_MS / 1000} s`), IDLE_MS);
    t.unref();
    return t;
  }
}

/** An absolute device path without a trailing slash (the device refuses `..` itself). */
export function checkFolderPath(path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new RemoteFailure('protocol', `give an absolute folder path on the device, got ${JSON.stringify(path)}`);
  const folder = path.replace(/(.)\/+$/, '$1');
  if (folder === '/') throw new RemoteFailure('protocol', 'name the folder to make, not /');
  return folder;
}

/** Permission bits 0-0777, or undefined for the default (over JSON an absent mode arrives as null). */
export function checkMode(mode: unknown): number | undefined {
  if (mode === undefined || mode === null) return undefined;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new RemoteFailure('protocol', `mode must be permission bits between 0 and 0777, got ${JSON.stringify(mode)}`);
  return mode;
}

function entryType(type: string): 'file' | 'dir' | 'symlink' | 'other' {
  return type === 'file' || type === 'dir' || type === 'symlink' ? type : 'other';
}
