import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { RemoteTransferResult } from '../../common/console-api';
import type { HubSession } from '../connection/hub-session';
import { CreditSender } from './credit';
import { openHubChannel, type HubChannel } from './hub-channel';
import { RemoteFailure } from './remote-failure';

export interface HubUploadRequest {
  deviceId: string;
  path: string;
  size: number;
  mode?: number;
  /** the same id resumes a cut upload of the same path and size */
  transferId?: string;
}

// One upload channel to the device (agent/remote/file-transfer/upload.ts):
// the device answers `file{offset}` (the resume point: bytes it already
// holds from a cut attempt with the same transfer id) and grants credit as
// it writes. The caller feeds the whole file in order from byte 0: bytes
// before the offset are only hashed, the rest are sent within the credit.
// `finish` sends eof with the sha256 of the whole file; the device checks
// it, renames the file into place and answers with its own sha256.
export class HubUpload {
  private readonly hash: Hash = createHash('sha256');
  private readonly sender: CreditSender;
  private fed = 0;
  private failure: RemoteFailure | null = null;
  private deviceEof: ((sha256: string) => void) | null = null;
  private deviceSha256: string | null = null;
  private readonly waiters = new Set<(err: RemoteFailure) => void>();

  private constructor(
    readonly request: HubUploadRequest & { transferId: string },
    private readonly channel: HubChannel,
    readonly offset: number,
  ) {
    this.sender = new CreditSender((chunk) => channel.send({ $case: 'data', data: chunk }));
    channel.onFrame((frame) => {
      try {
        if (frame.$case === 'window') this.sender.grant(frame.window.bytes);
        else if (frame.$case === 'eof') {
          this.deviceSha256 = frame.eof.sha256 ?? '';
          this.deviceEof?.(this.deviceSha256);
        }
      } catch (err) {
        channel.close(`protocol: ${(err as Error).message}`);
      }
    });
    channel.onClose((reason, error) => {
      if (this.deviceSha256 !== null && !error) return;
      this.failure = error ?? new RemoteFailure('connection-lost', `the upload of ${request.path} was cut (${reason}); send it again to resume`);
      this.sender.dispose();
      for (const w of [...this.waiters]) w(this.failure);
    });
  }

  static async open(session: HubSession, request: HubUploadRequest): Promise<HubUpload> {
    if (typeof request.path !== 'string' || !request.path.startsWith('/')) throw new RemoteFailure('protocol', `the device path must be absolute, got ${JSON.stringify(request.path)}`);
    if (!Number.isSafeInteger(request.size) || request.size < 0) throw new RemoteFailure('protocol', `upload size must be a whole number of bytes, got ${request.size}`);
    const transferId = request.transferId ?? randomUUID();
    const channel = await openHubChannel(session, request.deviceId, {
      kind: { $case: 'file', file: { op: 'upload', path: request.path, size: request.size, mode: request.mode, transferId } },
    });
    // The device's first frame is the resume offset; frames before our listener are kept.
    const offset = await new Promise<number>((resolve, reject) => {
      const offFrame = channel.onFrame((f) => {
        if (f.$case !== 'file') return channel.close(`protocol: expected the device's file frame first, got ${f.$case}`);
        offFrame();
        offClose();
        resolve(f.file.offset);
      });
      const offClose = channel.onClose((reason, error) => reject(error ?? new RemoteFailure('closed', `the device ended the upload before it started: ${reason}`)));
    });
    return new HubUpload({ ...request, transferId }, channel, offset);
  }

  get bytesFed(): number {
    return this.fed;
  }

  /**
   * The next bytes of the file, in order from 0. Resolves when they are on
   * their way (held bytes within one window), which paces the caller.
   */
  async feed(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.fed + chunk.byteLength > this.request.size) throw new RemoteFailure('protocol', `more bytes than the announced ${this.request.size}`);
    this.hash.update(chunk);
    const start = this.fed;
    this.fed += chunk.byteLength;
    if (this.fed <= this.offset) return; // the device already has these
    const send = start >= this.offset ? chunk : chunk.subarray(this.offset - start);
    if (!this.sender.write(send)) await this.wait(this.sender.drained());
  }

  /** All bytes fed: sends the whole file's sha256 and waits for the device's verdict. */
  async finish(): Promise<RemoteTransferResult> {
    if (this.failure) throw this.failure;
    if (this.fed !== this.request.size) throw new RemoteFailure('protocol', `only ${this.fed} of ${this.request.size} bytes were given`);
    await this.wait(this.sender.drained());
    const sha256 = this.hash.digest('hex');
    const answer = new Promise<string>((resolve) => {
      if (this.deviceSha256 !== null) resolve(this.deviceSha256);
      else this.deviceEof = resolve;
    });
    this.channel.send({ $case: 'eof', eof: { sha256 } });
    const theirs = await this.wait(answer);
    if (theirs !== sha256) throw new RemoteFailure('checksum-mismatch', `the device reports sha256 ${theirs} for ${this.request.path}, this computer sent ${sha256}`);
    this.channel.close('done');
    return { path: this.request.path, size: this.request.size, sha256 };
  }

  /**
   * Discards the upload: a close reason starting with `cancelled` makes the
   * device remove its temporary file at once (any other end of the channel
   * is a cut, and the device keeps the bytes for a resume).
   */
  cancel(reason = 'cancelled by the operator'): void {
    this.channel.close(reason);
  }

  private wait<T>(p: Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const onFail = (err: RemoteFailure): void => reject(err);
      this.waiters.add(onFail);
      p.then(resolve, reject).finally(() => this.waiters.delete(onFail));
    });
  }
}
