// writeArtifact: first pass over the payloads (payload-source.ts), then the
// manifest, its signature and the payloads stream out in one tar, hashed
// again as they are written so a source that changed in between is caught.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { END_OF_ARCHIVE, entryHeader, entryPadding } from './artifact-tar';
import { ArtifactError } from './errors';
import { COMPRESSIONS, type Compression, MANIFEST_ENTRY, payloadEntryName, SIGNATURE_ENTRY, VERSION_BYTES, VERSION_ENTRY } from './format';
import type { PrivateKeyInput } from './keys';
import { serializeManifest, validateManifest, type Manifest } from './manifest';
import { preparePayload, type PayloadInput, type PreparedPayload, type ProgressEvent } from './payload-source';
import { serializeSignature, signManifest, type ManifestSignature } from './signature';

export interface WriteArtifactOptions {
  name: string;
  version: string;
  /** Downgrade protection group; defaults to the artifact name. */
  group?: string;
  deviceTypes: string[];
  provides?: Record<string, string>;
  depends?: Record<string, string>;
  clearsProvides?: string[];
  payloads: PayloadInput[];
  /** State hook name -> index of a payload of type 'hook'. */
  hooks?: Record<string, number>;
  /** Default compression of the payloads (gzip when not given). */
  compression?: Compression;
  /** Without a key the artifact is unsigned (readers refuse it until `sign`). */
  signingKey?: PrivateKeyInput;
  /** Where compressed payloads are staged (default: the OS temp folder). */
  tempDir?: string;
  onProgress?: (e: ProgressEvent) => void;
}

export interface WriteArtifactResult {
  manifest: Manifest;
  signature: ManifestSignature | null;
  /** Bytes written. */
  size: number;
}

function buildManifest(opts: WriteArtifactOptions, payloads: Manifest['payloads']): Manifest {
  return validateManifest({
    name: opts.name,
    version: opts.version,
    group: opts.group ?? opts.name,
    deviceTypes: opts.deviceTypes,
    provides: opts.provides ?? {},
    depends: opts.depends ?? {},
    clearsProvides: opts.clearsProvides ?? [],
    payloads,
    hooks: opts.hooks ?? {},
  });
}

export function headerEntry(name: string, bytes: Buffer): Buffer[] {
  return [entryHeader(name, bytes.length), bytes, entryPadding(bytes.length)];
}

async function* payloadChunks(p: PreparedPayload, onProgress?: (e: ProgressEvent) => void): AsyncGenerator<Buffer> {
  const { info } = p;
  yield entryHeader(info.file, info.storedSize);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of p.open()) {
    hash.update(chunk);
    bytes += chunk.length;
    onProgress?.({ phase: 'write', index: info.index, bytes, total: info.storedSize });
    yield chunk;
  }
  if (bytes !== info.storedSize || hash.digest('hex') !== info.storedSha256) {
    throw new ArtifactError('payload-hash-mismatch', `payload ${info.index} (${info.name}) changed between hashing and writing; write the artifact again`);
  }
  yield entryPadding(info.storedSize);
}

export async function writeArtifact(opts: WriteArtifactOptions, out: Writable): Promise<WriteArtifactResult> {
  // Check names, version, types and hooks before the (possibly long) first pass.
  const zero = '0'.repeat(64);
  buildManifest(
    opts,
    opts.payloads.map((p, index) => {
      const compression = p.compression ?? opts.compression ?? 'gzip';
      const file = COMPRESSIONS.includes(compression) ? payloadEntryName(index, compression) : '';
      return { index, type: p.type, name: p.name ?? 'placeholder', file, size: 0, sha256: zero, compression, storedSize: 0, storedSha256: zero, meta: p.meta ?? null };
    }),
  );
  const staging = await mkdtemp(join(opts.tempDir ?? tmpdir(), 'fleet-artifact-'));
  try {
    const prepared: PreparedPayload[] = [];
    for (const [index, input] of opts.payloads.entries()) {
      prepared.push(await preparePayload(input, index, opts.compression ?? 'gzip', staging, opts.onProgress));
    }
    const manifest = buildManifest(
      opts,
      prepared.map((p) => p.info),
    );
    const manifestBytes = serializeManifest(manifest);
    const signature = opts.signingKey ? signManifest(manifestBytes, opts.signingKey) : null;
    let size = 0;
    async function* chunks(): AsyncGenerator<Buffer> {
      yield* headerEntry(VERSION_ENTRY, VERSION_BYTES);
      yield* headerEntry(MANIFEST_ENTRY, manifestBytes);
      if (signature) yield* headerEntry(SIGNATURE_ENTRY, serializeSignature(signature));
      for (const p of prepared) yield* payloadChunks(p, opts.onProgress);
      yield END_OF_ARCHIVE;
    }
    await pipeline(
      Readable.from(chunks(), { objectMode: false }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          size += chunk.length;
          yield chunk;
        }
      },
      out,
    );
    return { manifest, signature, size };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
