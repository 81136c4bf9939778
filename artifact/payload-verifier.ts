// The stream a payload consumer reads: passes the uncompressed bytes through
// while counting and hashing them. It ends ('end') only when size and sha256
// match the signed manifest; otherwise it fails with an ArtifactError, so a
// consumer that waits for 'end' never takes unverified bytes as good.
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ArtifactError } from './errors';
import type { PayloadInfo } from './manifest';

export class PayloadVerifier extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  /** Settles when the bytes are verified (or fail, or the stream is destroyed). */
  readonly verified: Promise<void>;
  private settle!: (err: Error | null) => void;

  constructor(private readonly payload: PayloadInfo) {
    super({ highWaterMark: 256 * 1024 });
    this.verified = new Promise((resolve, reject) => {
      this.settle = (err) => (err ? reject(err) : resolve());
    });
    this.verified.catch(() => {}); // observed by the reader; never unhandled
    this.on('error', () => {}); // reported through readArtifact; a consumer may not listen
  }

  private label(): string {
    return `payload ${this.payload.index} (${this.payload.file})`;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.payload.size) {
      const err = new ArtifactError('payload-size-mismatch', `${this.label()} decompresses to more than the ${this.payload.size} bytes the manifest states`);
      this.settle(err);
      return callback(err);
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    let err: ArtifactError | null = null;
    if (this.bytes !== this.payload.size) {
      err = new ArtifactError('payload-size-mismatch', `${this.label()} decompresses to ${this.bytes} bytes; the manifest states ${this.payload.size}`);
    } else {
      const digest = this.hash.digest('hex');
      if (digest !== this.payload.sha256) err = new ArtifactError('payload-hash-mismatch', `${this.label()}: sha256 of the uncompressed bytes is ${digest}, the manifest states ${this.payload.sha256}`);
    }
    this.settle(err);
    callback(err);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.settle(err ?? new Error(`${this.label()}: stream destroyed before its bytes were verified`));
    callback(err);
  }
}
