// The writer's first pass over each payload. The manifest, which precedes the
// payloads, must hold their sizes and hashes, so each source is read once
// before writing: compressed payloads (and any source given as a stream) are
// compressed into a temporary file while both hashes are taken; an
// uncompressed payload from a file is only hashed and read again when
// written. Staging costs disk space of the compressed size but compresses
// once and accepts one-shot streams (stdin, an app tree packed on the fly).
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCompressor } from './compression';
import type { Compression } from './format';
import { payloadEntryName } from './format';
import { HashMeter } from './hash-meter';
import type { JsonValue, PayloadInfo, PayloadType } from './manifest';

export interface PayloadInput {
  type: PayloadType;
  /** A file path, or a stream (read once). */
  source: string | Readable;
  /** Original file name recorded in the manifest; defaults to the path's base name. */
  name?: string;
  /** Defaults to the artifact's compression. */
  compression?: Compression;
  meta?: JsonValue;
}

export interface PreparedPayload {
  info: PayloadInfo;
  /** Opens the bytes to store, exactly as hashed in the first pass. */
  open(): Readable;
}

export type ProgressEvent = { phase: 'prepare' | 'write'; index: number; bytes: number; total: number | null };

export async function preparePayload(
  input: PayloadInput,
  index: number,
  defaultCompression: Compression,
  stagingDir: string,
  onProgress?: (e: ProgressEvent) => void,
): Promise<PreparedPayload> {
  const compression = input.compression ?? defaultCompression;
  const name = input.name ?? (typeof input.source === 'string' ? basename(input.source) : null);
  if (!name) throw new TypeError(`payload ${index}: a stream source needs a name`);
  const total = typeof input.source === 'string' ? (await stat(input.source)).size : null;
  const raw = new HashMeter((bytes) => onProgress?.({ phase: 'prepare', index, bytes, total }));
  const source = typeof input.source === 'string' ? createReadStream(input.source, { highWaterMark: 1024 * 1024 }) : input.source;
  const info = (stored: HashMeter | null): PayloadInfo => ({
    index,
    type: input.type,
    name,
    file: payloadEntryName(index, compression),
    size: raw.bytes,
    sha256: raw.digest(),
    compression,
    storedSize: stored ? stored.bytes : raw.bytes,
    storedSha256: '',
    meta: input.meta ?? null,
  });

  if (compression === 'none' && typeof input.source === 'string') {
    const path = input.source;
    await pipeline(source, raw, new Writable({ write: (_c, _e, cb) => cb() }));
    const result = info(null);
    result.storedSha256 = result.sha256;
    return { info: result, open: () => createReadStream(path, { highWaterMark: 1024 * 1024 }) };
  }
  const staged = join(stagingDir, `${index}.payload`);
  const stored = new HashMeter();
  await pipeline(source, raw, createCompressor(compression), stored, createWriteStream(staged));
  const result = info(stored);
  result.storedSha256 = stored.digest();
  return { info: result, open: () => createReadStream(staged, { highWaterMark: 1024 * 1024 }) };
}
