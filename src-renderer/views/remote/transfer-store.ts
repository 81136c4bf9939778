import { create } from 'zustand';
import type { RemoteTarget, RemoteTransferProgress, RemoteTransferResult } from '../../../src-main/common/console-api';
import { fleet } from '../../api';
import { blobToBase64 } from '../../upload/upload-file';
import { explainRemoteError } from './remote-error';
import { onRemoteEvent } from './remote-events';
import { SpeedMeter } from './speed-meter';

// The file transfer queue: uploads of dropped files and downloads to this
// computer, at most two running at a time, each with progress, speed and
// ETA, cancellable, and each failure explained with the device's code.

export type TransferPhase = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface TransferEntry {
  key: number;
  kind: 'upload' | 'download';
  name: string;
  deviceId: string;
  remotePath: string;
  /** downloads: where the file goes on this computer */
  localPath: string;
  /** a download dragged out to the desktop: the browser saves it where it was dropped */
  draggedOut?: boolean;
  phase: TransferPhase;
  progress: RemoteTransferProgress;
  /** error code and its explanation */
  errorCode: string;
  error: string;
  sha256: string;
}

interface TransferStore {
  transfers: TransferEntry[];
  /** bumps when an upload finished, so the file list re-reads */
  uploaded: number;
  upload(target: RemoteTarget, file: File, remotePath: string): void;
  download(target: RemoteTarget, remotePath: string, localPath: string, size: number): void;
  /** Shows a download the console started for a file dragged out (remote-transfer-start), already running. */
  trackDragOut(transferId: string, deviceId: string, remotePath: string, size: number): void;
  cancel(key: number): void;
  dismiss(key: number): void;
}

const MAX_RUNNING = 2;
const RESUMES = 3;
let nextKey = 1;
const jobs = new Map<number, { run: () => Promise<void>; abort: AbortController; cancelRemote?: () => void }>();

export const useTransfers = create<TransferStore>((set, get) => {
  const update = (key: number, patch: Partial<TransferEntry>) => set((s) => ({ transfers: s.transfers.map((t) => (t.key === key ? { ...t, ...patch } : t)) }));
  const done = (key: number, result: RemoteTransferResult, patch: Partial<TransferEntry> = {}) =>
    update(key, { phase: 'done', sha256: result.sha256, progress: { bytes: result.size, total: result.size, bytesPerSecond: 0, etaSeconds: 0 }, ...patch });
  const failed = (key: number, abort: AbortController, err: unknown, cancelled: string) => {
    if (abort.signal.aborted) return update(key, { phase: 'cancelled', error: cancelled });
    const e = explainRemoteError(err);
    update(key, { phase: 'failed', errorCode: e.code, error: `${e.title} ${e.detail}`.trim() });
  };
  /** Follows a transfer the services run: its progress into the entry, Cancel to the services; the verified result. */
  const follow = (key: number, transferId: string, abort: AbortController) =>
    new Promise<RemoteTransferResult>((resolve, reject) => {
      const cancel = () => void fleet.remote.cancelTransfer(transferId).catch(() => undefined);
      abort.signal.addEventListener('abort', cancel);
      const off = onRemoteEvent(transferId, (e) => {
        if (e.type === 'remote-transfer-progress') update(key, { progress: e.progress });
        else if (e.type === 'remote-transfer-end') {
          off();
          abort.signal.removeEventListener('abort', cancel);
          if (e.result) resolve(e.result);
          else reject(e.error ?? new Error('the download failed'));
        }
      });
    });

  const pump = () => {
    const running = get().transfers.filter((t) => t.phase === 'running').length;
    const next = get()
      .transfers.filter((t) => t.phase === 'queued')
      .reverse()
      .slice(0, Math.max(0, MAX_RUNNING - running));
    for (const t of next) {
      const job = jobs.get(t.key);
      if (!job) continue;
      update(t.key, { phase: 'running' });
      job
        .run()
        .then(
          () => undefined,
          (err: unknown) => failed(t.key, job.abort, err, 'Cancelled; nothing was left under the real name.'),
        )
        .finally(() => {
          jobs.delete(t.key);
          pump();
        });
    }
  };

  const enqueue = (entry: Omit<TransferEntry, 'key' | 'phase' | 'errorCode' | 'error' | 'sha256'>, run: (key: number, abort: AbortController) => Promise<void>) => {
    const key = nextKey++;
    const abort = new AbortController();
    jobs.set(key, { abort, run: () => run(key, abort) });
    set((s) => ({ transfers: [{ ...entry, key, phase: 'queued', errorCode: '', error: '', sha256: '' }, ...s.transfers] }));
    pump();
  };

  return {
    transfers: [],
    uploaded: 0,
    upload(target, file, remotePath) {
      enqueue({ kind: 'upload', name: file.name, deviceId: target.deviceId, remotePath, localPath: '', progress: { bytes: 0, total: file.size, bytesPerSecond: 0, etaSeconds: null } }, async (key, abort) => {
        const transferId = `ui-${Date.now().toString(36)}-${key}`;
        for (let attempt = 0; ; attempt++) {
          try {
            const result = await sendFile(target, file, remotePath, transferId, abort.signal, (progress) => update(key, { progress }));
            done(key, result);
            set((s) => ({ uploaded: s.uploaded + 1 }));
            return;
          } catch (err) {
            // A cut resumes where the device stopped writing (same transfer id), after 1, 2, 4 s:
            // time for a restarting hub or a reconnecting device to come back.
            if (abort.signal.aborted || attempt >= RESUMES || explainRemoteError(err).code !== 'connection-lost') throw err;
            await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt));
            if (abort.signal.aborted) throw err;
          }
        }
      });
    },
    download(target, remotePath, localPath, size) {
      const name = remotePath.split('/').pop() ?? remotePath;
      enqueue({ kind: 'download', name, deviceId: target.deviceId, remotePath, localPath, progress: { bytes: 0, total: size, bytesPerSecond: 0, etaSeconds: null } }, async (key, abort) => {
        const { transferId } = await fleet.remote.download(target, remotePath, localPath);
        const result = await follow(key, transferId, abort);
        done(key, result, { localPath: result.path });
      });
    },
    trackDragOut(transferId, deviceId, remotePath, size) {
      const key = nextKey++;
      const abort = new AbortController();
      const name = remotePath.split('/').pop() ?? remotePath;
      const entry: TransferEntry = { key, kind: 'download', name, deviceId, remotePath, localPath: 'where it was dropped', draggedOut: true, phase: 'running', progress: { bytes: 0, total: size, bytesPerSecond: 0, etaSeconds: null }, errorCode: '', error: '', sha256: '' };
      set((s) => ({ transfers: [entry, ...s.transfers] }));
      jobs.set(key, { abort, run: () => Promise.resolve() });
      void follow(key, transferId, abort)
        .then(
          (result) => done(key, result),
          (err: unknown) => failed(key, abort, err, 'Cancelled; nothing was dropped.'),
        )
        .finally(() => jobs.delete(key));
    },
    cancel(key) {
      const t = get().transfers.find((x) => x.key === key);
      jobs.get(key)?.abort.abort();
      if (t?.phase === 'queued') {
        jobs.delete(key);
        update(key, { phase: 'cancelled', error: 'Cancelled before it started.' });
      }
    },
    dismiss(key) {
      set((s) => ({ transfers: s.transfers.filter((t) => t.key !== key) }));
    },
  };
});

/** Sends a file from byte 0 (the services hash the part the device already holds, and send the rest). */
async function sendFile(target: RemoteTarget, file: File, remotePath: string, transferId: string, signal: AbortSignal, onProgress: (p: RemoteTransferProgress) => void) {
  const ticket = await fleet.remote.uploadBegin({ target, path: remotePath, size: file.size, transferId });
  const cancel = () => void fleet.remote.uploadCancel(ticket.uploadId).catch(() => undefined);
  signal.addEventListener('abort', cancel);
  const meter = new SpeedMeter(file.size);
  try {
    const inFlight = new Set<Promise<unknown>>();
    let failure: unknown = null;
    for (let offset = 0; offset < file.size && failure === null; offset += ticket.chunkBytes) {
      if (signal.aborted) throw new Error('cancelled: upload cancelled');
      // Converted one after another so the calls leave in file order.
      const data = await blobToBase64(file.slice(offset, offset + ticket.chunkBytes));
      const call: Promise<unknown> = fleet.remote
        .uploadChunk(ticket.uploadId, offset, data)
        .then((p) => onProgress(meter.update(p.bytes)))
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => inFlight.delete(call));
      inFlight.add(call);
      if (inFlight.size >= ticket.maxInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== null) throw failure;
    if (signal.aborted) throw new Error('cancelled: upload cancelled');
    // Over SSH the file was spooled first; the SFTP transfer reports its progress under the upload id.
    const off = onRemoteEvent(ticket.uploadId, (e) => {
      if (e.type === 'remote-transfer-progress') onProgress(e.progress);
    });
    try {
      return await fleet.remote.uploadFinish(ticket.uploadId);
    } finally {
      off();
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
