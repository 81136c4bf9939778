// Pull-style reading of an async byte stream: exact-length reads for headers,
// bounded chunk reads for entry data, so a parser never buffers more than one
// source chunk plus what it asked for.
import { ArtifactError } from './errors';

export type ByteSource = AsyncIterable<Uint8Array | string>;

export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array | string>;
  private pending: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes handed out so far (the offset of the next byte in the stream). */
  offset = 0;

  constructor(source: ByteSource) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.pending.length === 0 && !this.done) {
      const next = await this.iterator.next();
      if (next.done) this.done = true;
      else this.pending = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
    return this.pending.length > 0;
  }

  /** Up to `max` bytes (at least one), or null at the end of the stream. */
  async readUpTo(max: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    this.offset += out.length;
    return out;
  }

  /** Exactly `n` bytes; `what` names the thing being read for the truncation error. */
  async readExact(n: number, what: string): Promise<Buffer> {
    if (this.pending.length >= n) return (await this.readUpTo(n))!;
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const chunk = await this.readUpTo(n - got);
      if (chunk === null) throw new ArtifactError('truncated', `stream ends at byte ${this.offset} inside ${what} (${n - got} more bytes expected)`);
      parts.push(chunk);
      got += chunk.length;
    }
    return Buffer.concat(parts, n);
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  /** Stops the source (a Readable's iterator destroys the stream). */
  async close(): Promise<void> {
    this.done = true;
    await this.iterator.return?.();
  }
}
