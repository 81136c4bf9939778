import type { ConsoleApi, UploadResult } from '../../src-main/common/console-api';

// Streams one file to the hub through the console API: slices of the
// ticket's chunk size, base64 (binary-safe over IPC and the WebSocket
// bridge), at most `maxInFlight` unanswered at a time. The services answer a
// chunk only when the hub stream has room, so memory stays bounded on both
// sides however large the file is, and progress follows what really left.

export interface UploadFileOptions {
  onProgress: (bytesSent: number) => void;
  /** called once every byte is sent, while the hub verifies the artifact */
  onVerifying?: () => void;
  signal: AbortSignal;
}

export class UploadCancelled extends Error {
  constructor(fileName: string) {
    super(`upload of ${fileName} cancelled`);
  }
}

export async function uploadFile(api: ConsoleApi['artifacts'], file: File, opts: UploadFileOptions): Promise<UploadResult> {
  if (opts.signal.aborted) throw new UploadCancelled(file.name);
  const ticket = await api.uploadBegin({ fileName: file.name, size: file.size });
  const cancel = () => void api.uploadCancel(ticket.uploadId).catch(() => {});
  opts.signal.addEventListener('abort', cancel);
  try {
    let sent = 0;
    let failure: unknown = null;
    const inFlight = new Set<Promise<void>>();
    for (let offset = 0; offset < file.size && failure === null && !opts.signal.aborted; offset += ticket.chunkBytes) {
      const at = offset;
      const chunk: Promise<void> = blobToBase64(file.slice(at, at + ticket.chunkBytes))
        .then((data) => api.uploadChunk(ticket.uploadId, at, data))
        .then((progress) => {
          sent = Math.max(sent, progress.bytesSent);
          opts.onProgress(sent);
        })
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => inFlight.delete(chunk));
      inFlight.add(chunk);
      if (inFlight.size >= ticket.maxInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (opts.signal.aborted) throw new UploadCancelled(file.name);
    if (failure !== null) throw failure;
    opts.onVerifying?.();
    return await api.uploadFinish(ticket.uploadId);
  } catch (err) {
    if (opts.signal.aborted) throw new UploadCancelled(file.name);
    cancel(); // the services forget it at once rather than at their idle time-out
    throw err;
  } finally {
    opts.signal.removeEventListener('abort', cancel);
  }
}

/**
 * Base64 of a blob's bytes. Native encoders first (a 256 KiB chunk takes
 * ~1-2 ms with Uint8Array#toBase64 or FileReader, ~40 ms through
 * String.fromCharCode, which would cap uploads at a few MiB/s); the portable
 * loop is for runtimes with neither.
 */
export async function blobToBase64(blob: Blob): Promise<string> {
  if (typeof FileReader === 'undefined' || hasToBase64(new Uint8Array(0))) {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (hasToBase64(bytes)) return bytes.toBase64();
    let binary = '';
    const STEP = 0x8000;
    for (let i = 0; i < bytes.length; i += STEP) binary += String.fromCharCode(...bytes.subarray(i, i + STEP));
    return btoa(binary);
  }
  const url = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(new Error(`cannot read the file: ${reader.error?.message ?? 'unknown error'}`));
    reader.readAsDataURL(blob);
  });
  return url.slice(url.indexOf(',') + 1);
}

/** Uint8Array#toBase64 (ES2026; Chromium has it, Node 20 does not). */
function hasToBase64(bytes: Uint8Array): bytes is Uint8Array & { toBase64(): string } {
  return typeof (bytes as Uint8Array & { toBase64?: unknown }).toBase64 === 'function';
}
