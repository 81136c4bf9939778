import { messagePool } from '../../../proto/buffer-pool';
import type { ChannelFrame, ChannelPeer } from '../channel-frame';
import { refuse } from '../channel-frame';
import { CreditGranter, CreditSender, BULK_WINDOW_BYTES } from '../flow-control';
import type { FilesConfig } from '../remote-config';
import { RemoteError } from '../remote-error';
import { FileDownload, READ_CHUNK_BYTES } from './download';
import { listDirectory } from './list-dir';
import { makeFolder, type MakeFolderRequest } from './make-folder';
import { RootPolicy } from './root-policy';
import { TokenBucket } from './token-bucket';
import { STALE_UPLOAD_MS, sweepStaleUploads } from './stale-uploads';
import { activeTemps, FileUpload, type UploadRequest } from './upload';

// File transfer over one channel per operation.
//   list:     device → listing, close('done')
//   download: device → file{size, mode, mtimeMs, offset}, data…, eof{sha256}, close('done')
//   upload:   device → file{offset = resume point} + window; operator → data…, eof{sha256};
//             device → eof{sha256}, close('done')  (or error{checksum-mismatch, …})
//   mkdir:    device → file{size 0, mode, mtimeMs, offset 0} of the folder, close('done')
//   sha256:   device → file{size, mode, mtimeMs, offset 0}, eof{sha256}, close('done'): a
//             regular file hashed, none of it sent (audited as what it is, not as a download)
// Every refusal is an error frame with a code, then close. Download data is
// paced by the operator's credit and the device's bytes-per-minute bucket;
// upload credit is granted only after the bytes are on disk and the bucket
// allows them, so neither direction buffers more than a window.

export type FileRequest =
  | { op: 'list'; path: string; cursor?: string; limit?: number }
  | { op: 'download'; path: string; offset?: number }
  | ({ op: 'upload' } & UploadRequest)
  | ({ op: 'mkdir' } & MakeFolderRequest)
  | { op: 'sha256'; path: string };

export interface FileTransferOptions {
  windowBytes?: number;
  /** Upload temp files untouched this long are swept (default 24 h). */
  staleUploadMs?: number;
}

/**
 * A close whose reason starts with this is the operator discarding the
 * transfer (the console's Cancel, fleetctl's Ctrl-C): an upload's temp file
 * is removed at once. Any other end (a cut, the console gone) keeps it for a
 * resume with the same transfer id.
 */
export const CANCEL_REASON = 'cancelled';

export function isCancel(reason: string): boolean {
  return reason.startsWith(CANCEL_REASON);
}

/** Stale temp files are looked for at most this often (on upload). */
const SWEEP_EVERY_MS = 60 * 60 * 1000;

export class FileTransfers {
  readonly policy: RootPolicy;
  private readonly sendBucket: TokenBucket;
  private readonly receiveBucket: TokenBucket;
  private lastSweep = 0;
  private sweeping: Promise<string[]> | undefined;

  constructor(
    private readonly config: FilesConfig,
    private readonly options: FileTransferOptions = {},
  ) {
    this.policy = new RootPolicy(config);
    this.sendBucket = new TokenBucket(config.bytesPerMinute);
    this.receiveBucket = new TokenBucket(config.bytesPerMinute);
    // At agent start (and on a new remote config): cut uploads of long ago.
    if (config.enabled) void this.sweepStaleUploads();
  }

  /** Removes upload temp files untouched for `staleUploadMs`; resolves with their paths. Never throws. */
  sweepStaleUploads(): Promise<string[]> {
    this.lastSweep = Date.now();
    this.sweeping ??= sweepStaleUploads(this.config.roots, { olderThanMs: this.options.staleUploadMs ?? STALE_UPLOAD_MS, skip: activeTemps })
      .catch(() => [])
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Serves one request on `peer` until the channel ends. Never throws: failures become error frames. */
  async serve(request: FileRequest, peer: ChannelPeer): Promise<void> {
    try {
      if (request.op === 'list') {
        const listing = await listDirectory(this.policy, request.path, { cursor: request.cursor, limit: request.limit });
        peer.send({ $case: 'listing', listing });
        peer.close('done');
      } else if (request.op === 'download') await this.download(request.path, request.offset ?? 0, peer);
      else if (request.op === 'upload') await this.upload(request, peer);
      else if (request.op === 'sha256') await this.sha256(request.path, peer);
      else if (request.op === 'mkdir') {
        peer.send({ $case: 'file', file: await makeFolder(this.policy, this.config, request) });
        peer.close('done');
      }
      else throw new RemoteError('protocol', `unknown file operation ${JSON.stringify((request as { op: unknown }).op)}`);
    } catch (err) {
      const e = err instanceof RemoteError ? err : new RemoteError('internal', (err as Error).message);
      refuse(peer, e.code, e.message);
    }
  }

  private async sha256(path: string, peer: ChannelPeer): Promise<void> {
    const file = await FileDownload.open(this.policy, this.config.maxFileBytes, path, 0, true);
    try {
      // An operator who went away (Ctrl-C) stops the reading of a big file.
      // Its frames (a first window grant) mean nothing here, but a peer
      // holds a close behind frames nobody listens to: listen, and drop them.
      let gone = false;
      peer.onFrame(() => undefined);
      peer.onClose(() => (gone = true));
      const sha256 = await file.wholeSha256(() => gone);
      if (sha256 === undefined) return;
      peer.send({ $case: 'file', file: { ...file.info, ...(this.config.uploadMode !== undefined ? { uploadMode: this.config.uploadMode } : {}) } });
      peer.send({ $case: 'eof', eof: { sha256 } });
      peer.close('done');
    } finally {
      await file.close();
    }
  }

  private async download(path: string, offset: number, peer: ChannelPeer): Promise<void> {
    const file = await FileDownload.open(this.policy, this.config.maxFileBytes, path, offset);
    const sender = new CreditSender((chunk) => peer.send({ $case: 'data', data: chunk }), READ_CHUNK_BYTES);
    let gone = false;
    const wake = new Set<() => void>();
    let broken: RemoteError | undefined;
    peer.onFrame((frame) => {
      try {
        if (frame.$case === 'window') sender.grant(frame.window.bytes);
        else throw new RemoteError('protocol', `a download channel does not take ${frame.$case} frames`);
      } catch (err) {
        broken = err as RemoteError;
        for (const w of wake) w();
      }
    });
    peer.onClose(() => {
      gone = true;
      for (const w of wake) w();
    });
    // Waits for credit, or returns early when the operator went away or broke the protocol.
    const drainedOrGone = (): Promise<void> =>
      new Promise((resolve) => {
        const done = (): void => {
          wake.delete(done);
          resolve();
        };
        wake.add(done);
        void sender.drained().then(done);
      });
    try {
      peer.send({ $case: 'file', file: file.info });
      for await (const chunk of file.chunks()) {
        if (broken) throw broken;
        if (gone) return;
        await this.sendBucket.take(chunk.byteLength);
        if (!sender.write(chunk)) await drainedOrGone();
      }
      await drainedOrGone();
      if (broken) throw broken;
      if (gone) return;
      peer.send({ $case: 'eof', eof: { sha256: file.sha256 } });
      peer.close('done');
    } finally {
      sender.dispose();
      await file.close();
    }
  }

  private async upload(request: UploadRequest, peer: ChannelPeer): Promise<void> {
    if (Date.now() - this.lastSweep > SWEEP_EVERY_MS) void this.sweepStaleUploads();
    const upload = await FileUpload.begin(this.policy, this.config, request);
    const granter = new CreditGranter((bytes) => peer.send({ $case: 'window', window: { bytes } }), this.options.windowBytes ?? BULK_WINDOW_BYTES);
    // Frames are handled one at a time, in order: each write finishes before the next starts.
    let chain = Promise.resolve();
    let settled = false;
    await new Promise<void>((resolve) => {
      const settle = async (how: 'suspend' | 'discard' | 'done', error?: RemoteError): Promise<void> => {
        if (settled) return;
        settled = true;
        if (how === 'suspend') await upload.suspend();
        if (how === 'discard') await upload.discard();
        if (error) refuse(peer, error.code, error.message);
        resolve();
      };
      const handle = async (frame: ChannelFrame): Promise<void> => {
        if (settled) return;
        try {
          if (frame.$case === 'data') {
            granter.received(frame.data.byteLength);
            await upload.write(frame.data);
            // Written and hashed: the frame's buffer may carry the next message.
            messagePool.release(frame.data);
            await this.receiveBucket.take(frame.data.byteLength);
            granter.consumed(frame.data.byteLength);
          } else if (frame.$case === 'eof') {
            const done = await upload.finish(frame.eof.sha256 ?? '');
            settled = true;
            peer.send({ $case: 'eof', eof: { sha256: done.sha256 } });
            peer.close('done');
            resolve();
          } else if (frame.$case !== 'window') throw new RemoteError('protocol', `an upload channel does not take ${frame.$case} frames`);
        } catch (err) {
          const e = err instanceof RemoteError ? err : new RemoteError('internal', (err as Error).message);
          // finish() already removed the temp file on a checksum mismatch; other
          // refusals (too many bytes, protocol) make the partial file useless too.
          await settle(e.code === 'internal' || e.code === 'no-space' || e.code === 'permission' ? 'suspend' : 'discard', e);
        }
      };
      peer.onFrame((frame) => {
        chain = chain.then(() => handle(frame));
      });
      peer.onClose((reason) => {
        chain = chain.then(() => settle(isCancel(reason) ? 'discard' : 'suspend'));
      });
      peer.send({ $case: 'file', file: upload.info });
      granter.start();
    });
  }
}
