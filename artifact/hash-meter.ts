// A pass-through that counts and hashes what flows through it.
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export class HashMeter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly onBytes?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    this.onBytes?.(this.bytes);
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
