// Test helpers: artifacts built in memory, a reading harness that records
// what a consumer received and whether each payload stream ended (= was
// delivered as verified), and raw tar assembly for hand-crafted artifacts.
import { Readable, Writable } from 'node:stream';
import { END_OF_ARCHIVE, entryHeader, entryPadding } from '../artifact-tar';
import { ArtifactError } from '../errors';
import { generateSigningKey, type SigningKeyPair } from '../keys';
import type { Manifest } from '../manifest';
import { readArtifact, type ReadArtifactOptions } from '../read-artifact';
import { writeArtifact, type WriteArtifactOptions } from '../write-artifact';

let cached: [SigningKeyPair, SigningKeyPair] | null = null;
/** Two key pairs: [trusted, untrusted]. */
export function testKeys(): [SigningKeyPair, SigningKeyPair] {
  cached ??= [generateSigningKey(), generateSigningKey()];
  return cached;
}

export class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export type MemoryPayload = Omit<WriteArtifactOptions['payloads'][number], 'source'> & { data: Buffer; name: string };

export async function buildArtifact(opts: Omit<WriteArtifactOptions, 'payloads'> & { payloads: MemoryPayload[] }): Promise<Buffer> {
  const out = new Collector();
  await writeArtifact({ ...opts, payloads: opts.payloads.map(({ data, ...p }) => ({ ...p, source: Readable.from([data]) })) }, out);
  return out.bytes();
}

export interface Delivery {
  index: number;
  bytes: Buffer;
  /** The payload stream emitted 'end': the reader vouched for these bytes. */
  ended: boolean;
  error: unknown;
}

export interface ReadOutcome {
  manifest: Manifest | null;
  error: unknown;
  deliveries: Delivery[];
}

/** Reads an artifact from memory like a careful consumer would, recording everything. */
export async function readOutcome(bytes: Buffer | Readable, opts: Partial<ReadArtifactOptions> & { chunkSize?: number } = {}): Promise<ReadOutcome> {
  const deliveries: Delivery[] = [];
  const chunk = opts.chunkSize ?? 4096;
  const input: Readable =
    Buffer.isBuffer(bytes)
      ? Readable.from(
          (function* () {
            for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
          })(),
        )
      : (bytes as Readable);
  try {
    const r = await readArtifact(input, {
      trustedKeys: opts.trustedKeys ?? [testKeys()[0].publicKeyPem],
      onManifest: opts.onManifest,
      onPayload: async (p, stream) => {
        const d: Delivery = { index: p.index, bytes: Buffer.alloc(0), ended: false, error: null };
        deliveries.push(d);
        const parts: Buffer[] = [];
        try {
          for await (const c of stream) parts.push(c as Buffer);
          d.ended = true;
        } catch (err) {
          d.error = err;
          throw err;
        } finally {
          d.bytes = Buffer.concat(parts);
        }
      },
    });
    return { manifest: r.manifest, error: null, deliveries };
  } catch (error) {
    return { manifest: null, error, deliveries };
  }
}

export function errorCode(err: unknown): string {
  if (err === null) return 'accepted';
  return err instanceof ArtifactError ? err.code : `non-artifact error: ${(err as Error)?.stack ?? String(err)}`;
}

/** A tar of the given entries in the canonical artifact form. */
export function assemble(entries: Array<[string, Buffer]>, end = true): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data] of entries) parts.push(entryHeader(name, data.length), data, entryPadding(data.length));
  if (end) parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

export interface RawEntry {
  name: string;
  headerOffset: number;
  dataOffset: number;
  size: number;
}

/** Entries of a canonical artifact with their byte offsets. */
export function listEntries(bytes: Buffer): RawEntry[] {
  const out: RawEntry[] = [];
  let off = 0;
  while (off + 512 <= bytes.length && bytes[off] !== 0) {
    const name = bytes.toString('utf8', off, off + 100).replace(/\0.*$/s, '');
    const size = parseInt(bytes.toString('ascii', off + 124, off + 135), 8);
    out.push({ name, headerOffset: off, dataOffset: off + 512, size });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(next: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}
