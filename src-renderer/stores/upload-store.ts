import { create } from 'zustand';
import type { UploadResult } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { UploadCancelled, uploadFile } from '../upload/upload-file';

// Uploads in progress and just finished. Kept outside the Artifacts view so
// an upload goes on while the operator looks at other pages.

export type UploadPhase = 'uploading' | 'verifying' | 'done' | 'failed' | 'cancelled';

export interface UploadEntry {
  key: number;
  fileName: string;
  size: number;
  sent: number;
  startedMs: number;
  /** when the last byte left (or now, while sending): for the average speed */
  sentAtMs: number;
  phase: UploadPhase;
  error: string;
  result: UploadResult | null;
}

interface UploadStore {
  uploads: UploadEntry[];
  /** bumps whenever an upload stored an artifact: lists re-read the hub */
  stored: number;
  start: (file: File) => void;
  cancel: (key: number) => void;
  dismiss: (key: number) => void;
}

const controllers = new Map<number, AbortController>();
let nextKey = 1;

export const useUploads = create<UploadStore>((set) => {
  const update = (key: number, patch: Partial<UploadEntry>) =>
    set((s) => ({ uploads: s.uploads.map((u) => (u.key === key ? { ...u, ...patch } : u)) }));

  return {
    uploads: [],
    stored: 0,
    start: (file) => {
      const key = nextKey++;
      const abort = new AbortController();
      controllers.set(key, abort);
      const now = Date.now();
      const entry: UploadEntry = { key, fileName: file.name, size: file.size, sent: 0, startedMs: now, sentAtMs: now, phase: 'uploading', error: '', result: null };
      set((s) => ({ uploads: [entry, ...s.uploads] }));
      uploadFile(fleet.artifacts, file, {
        signal: abort.signal,
        onProgress: (sent) => update(key, { sent, sentAtMs: Date.now() }),
        onVerifying: () => update(key, { phase: 'verifying' }),
      })
        .then(
          (result) => {
            update(key, { phase: 'done', result });
            set((s) => ({ stored: s.stored + 1 }));
          },
          (err: unknown) => {
            if (err instanceof UploadCancelled) update(key, { phase: 'cancelled' });
            else update(key, { phase: 'failed', error: err instanceof Error ? err.message : String(err) });
          },
        )
        .finally(() => controllers.delete(key));
    },
    cancel: (key) => controllers.get(key)?.abort(),
    dismiss: (key) => set((s) => ({ uploads: s.uploads.filter((u) => u.key !== key || controllers.has(key)) })),
  };
});
