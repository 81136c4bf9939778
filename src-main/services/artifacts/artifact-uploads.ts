import type { ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { UploadBeginParams, UploadProgress, UploadResult, UploadTicket } from '../../common/console-api';
import type { ConsoleServiceClient, UploadArtifactRequest, UploadArtifactResponse } from '../../../proto/gen/fleet/v1/console';
import type { HubSession } from '../connection/hub-session';
import { bearer, HubCallError } from '../hub-client/hub-connection';
import { toArtifactRow } from './artifact-list';

// Uploads driven by a renderer, chunk by chunk, onto the hub's
// UploadArtifact client stream. The renderer cannot hand the services a file
// path (a browser has none), so the bytes cross the API as base64 chunks of
// the hub's own chunk size. Memory stays bounded whatever the file size: at
// most `maxInFlight` chunks wait here, and a chunk is answered only once the
// gRPC stream has room again, so a slow hub slows the sender down.

export interface UploadLimits {
  /** raw bytes per chunk; the hub accepts at most 256 KiB per message */
  chunkBytes: number;
  maxInFlight: number;
  /** an upload with no call for this long is cancelled (closed page, crashed renderer) */
  idleMs: number;
  maxUploads: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { chunkBytes: 256 * 1024, maxInFlight: 4, idleMs: 60_000, maxUploads: 4 };

interface WaitingChunk {
  bytes: Buffer;
  resolve: (p: UploadProgress) => void;
  reject: (err: Error) => void;
}

interface Upload {
  id: string;
  fileName: string;
  size: number;
  call: ClientWritableStream<UploadArtifactRequest>;
  /** the hub's answer; settles once, on success or failure */
  verdict: Promise<UploadArtifactResponse>;
  /** offset of the next byte to write to the hub */
  next: number;
  /** chunks that arrived ahead of `next`, by offset */
  waiting: Map<number, WaitingChunk>;
  pumping: boolean;
  /** every byte sent and the stream ended: only the hub's verdict is awaited */
  finishing: boolean;
  failed: Error | null;
  onFail: Set<(err: Error) => void>;
  idle: NodeJS.Timeout | null;
}

export class ArtifactUploads {
  private readonly uploads = new Map<string, Upload>();
  private readonly limits: UploadLimits;

  constructor(
    private readonly session: HubSession,
    limits: Partial<UploadLimits> = {},
  ) {
    this.limits = { ...DEFAULT_UPLOAD_LIMITS, ...limits };
  }

  async begin(params: UploadBeginParams): Promise<UploadTicket> {
    const { fileName, size } = checkBegin(params);
    if (this.uploads.size >= this.limits.maxUploads) {
      throw new Error(`too many uploads at once (limit ${this.limits.maxUploads}): wait for one to finish or cancel it`);
    }
    const upload = await this.session.call('uploading an artifact', async (client, token) => this.open(client, token, fileName, size));
    this.uploads.set(upload.id, upload);
    this.touch(upload);
    return { uploadId: upload.id, chunkBytes: this.limits.chunkBytes, maxInFlight: this.limits.maxInFlight };
  }

  async chunk(uploadId: string, offset: number, data: string): Promise<UploadProgress> {
    const upload = this.get(uploadId);
    if (upload.failed) throw upload.failed;
    this.touch(upload);
    const { chunkBytes, maxInFlight } = this.limits;
    if (typeof data !== 'string') throw new Error('an upload chunk must be a base64 string');
    if (!Number.isInteger(offset) || offset < upload.next || offset % chunkBytes !== 0) {
      throw new Error(`upload chunk at offset ${offset} is out of place: the next byte expected is ${upload.next}, in steps of ${chunkBytes}`);
    }
    if (offset >= upload.size) throw new Error(`upload chunk at offset ${offset} is past the end of the ${upload.size}-byte file`);
    if (offset >= upload.next + maxInFlight * chunkBytes) {
      throw new Error(`upload chunk at offset ${offset} is ahead of the window: at most ${maxInFlight} chunks may be in flight`);
    }
    if (upload.waiting.has(offset)) throw new Error(`upload chunk at offset ${offset} was sent twice`);
    const bytes = Buffer.from(data, 'base64');
    const expected = Math.min(chunkBytes, upload.size - offset);
    if (bytes.length !== expected) {
      throw new Error(`upload chunk at offset ${offset} holds ${bytes.length} bytes; expected ${expected} (file size ${upload.size})`);
    }
    return new Promise<UploadProgress>((resolve, reject) => {
      upload.waiting.set(offset, { bytes, resolve, reject });
      void this.pump(upload);
    });
  }

  async finish(uploadId: string): Promise<UploadResult> {
    const upload = this.get(uploadId);
    if (upload.failed) throw upload.failed;
    if (upload.finishing) throw new Error(`upload of ${upload.fileName} is already finishing: wait for the hub's answer`);
    if (upload.next !== upload.size || upload.waiting.size > 0) {
      throw new Error(`upload of ${upload.fileName} is incomplete: ${upload.next} of ${upload.size} bytes sent; send the remaining chunks first`);
    }
    // The hub now verifies the whole file: its deadline bounds the wait, not the idle timer.
    if (upload.idle) clearTimeout(upload.idle);
    upload.finishing = true;
    upload.call.end();
    try {
      const res = await upload.verdict;
      if (!res.artifact) throw new Error('the hub accepted the upload but described no artifact; update the console');
      return { artifact: toArtifactRow(res.artifact), deduplicated: res.deduplicated };
    } finally {
      this.forget(upload);
    }
  }

  async cancel(uploadId: string): Promise<void> {
    const upload = this.uploads.get(uploadId);
    if (!upload) return;
    this.fail(upload, new Error(`upload of ${upload.fileName} cancelled`));
    upload.call.cancel();
    this.forget(upload);
  }

  /** Cancels every upload (the console is closing). */
  closeAll(): void {
    for (const upload of [...this.uploads.values()]) void this.cancel(upload.id);
  }

  private open(client: ConsoleServiceClient, token: string, fileName: string, size: number): Upload {
    let settle!: { resolve: (r: UploadArtifactResponse) => void; reject: (e: Error) => void };
    const verdict = new Promise<UploadArtifactResponse>((resolve, reject) => (settle = { resolve, reject }));
    verdict.catch(() => {}); // read through finish(); a cancelled upload's verdict is never read
    // A dead link still ends: a minute plus a second per chunk, as fleetctl does.
    const deadline = Date.now() + 60_000 + Math.ceil(size / this.limits.chunkBytes) * 1000;
    const call = client.uploadArtifact(bearer(token), { deadline }, (err: ServiceError | null, res?: UploadArtifactResponse) => {
      if (err) {
        const failure = new Error(`the hub refused ${fileName}: ${new HubCallError(err).message}`);
        this.fail(upload, failure);
        settle.reject(failure);
      } else settle.resolve(res!);
    });
    const upload: Upload = {
      id: randomUUID(),
      fileName,
      size,
      call,
      verdict,
      next: 0,
      waiting: new Map(),
      pumping: false,
      finishing: false,
      failed: null,
      onFail: new Set(),
      idle: null,
    };
    call.on('error', () => {}); // reported through the callback above
    call.write({ part: { $case: 'header', header: { size, fileName } } });
    return upload;
  }

  /** Writes waiting chunks in order, pausing while the gRPC stream is full. */
  private async pump(upload: Upload): Promise<void> {
    if (upload.pumping) return;
    upload.pumping = true;
    try {
      let entry: WaitingChunk | undefined;
      while (!upload.failed && (entry = upload.waiting.get(upload.next))) {
        upload.waiting.delete(upload.next);
        upload.next += entry.bytes.length;
        try {
          if (!upload.call.write({ part: { $case: 'chunk', chunk: entry.bytes } })) await this.drained(upload);
        } catch (err) {
          entry.reject(err as Error); // fail() already rejected the chunks still waiting
          return;
        }
        entry.resolve({ bytesSent: upload.next, size: upload.size });
      }
    } finally {
      upload.pumping = false;
    }
  }

  private drained(upload: Upload): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        upload.onFail.delete(reject);
        resolve();
      };
      upload.call.once('drain', onDrain);
      upload.onFail.add((err) => {
        upload.call.off('drain', onDrain);
        reject(err);
      });
    });
  }

  private fail(upload: Upload, err: Error): void {
    if (upload.failed) return;
    upload.failed = err;
    for (const chunk of upload.waiting.values()) chunk.reject(err);
    upload.waiting.clear();
    for (const listener of upload.onFail) listener(err);
    upload.onFail.clear();
  }

  private touch(upload: Upload): void {
    if (upload.idle) clearTimeout(upload.idle);
    upload.idle = setTimeout(() => {
      this.fail(upload, new Error(`upload of ${upload.fileName} abandoned: nothing was sent for ${Math.round(this.limits.idleMs / 1000)} s`));
      upload.call.cancel();
      this.forget(upload);
    }, this.limits.idleMs);
    upload.idle.unref();
  }

  private forget(upload: Upload): void {
    if (upload.idle) clearTimeout(upload.idle);
    this.uploads.delete(upload.id);
  }

  private get(uploadId: string): Upload {
    const upload = typeof uploadId === 'string' ? this.uploads.get(uploadId) : undefined;
    if (!upload) throw new Error('no such upload: it finished, was cancelled or timed out; start it again');
    return upload;
  }
}

function checkBegin(params: UploadBeginParams): UploadBeginParams {
  if (!params || typeof params !== 'object') throw new Error('an upload needs { fileName, size }');
  const { fileName, size } = params;
  if (typeof fileName !== 'string' || !fileName.trim()) throw new Error('an upload needs the file name');
  if (!Number.isSafeInteger(size) || size <= 0) throw new Error(`${fileName} is empty or its size is unknown: choose an artifact file made with fleet-artifact write`);
  return { fileName: fileName.trim(), size };
}
