import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Backoff, type BackoffOptions } from '../backoff';
import { describeError } from '../device-client';
import { createDownloadHash, type DownloadHash } from './download-hash';
import { DownloadWriter } from './download-writer';
import { SPACE_MARGIN } from './free-space';
import { sleep, throwIfAborted } from './abortable';
import { UpdateError } from './update-error';

// The resumable download: the artifact's bytes go to artifact.part at their
// offset. Every `syncEvery` bytes (an eighth of the artifact, between 256 KiB
// and 4 MiB: small downloads lose little, big ones fsync rarely) the file is
// fsynced and that offset is persisted (onDurable); after a restart or reboot
// the file is cut back to the persisted offset, whose bytes are known to be
// on disk, and the hub is asked for the rest. A broken stream inside one run
// resumes from the last byte received, without refetching. The sha256 of the
// whole file, hashed as the bytes arrive, must be the artifact id. The disk
// work runs beside the stream (DownloadWriter), holding at most
// `maxBuffered` bytes before the stream is held.

/**
 * Bytes of the artifact starting at `offset`: one buffer (a Download
 * message) or several received together.
 */
export interface ArtifactBytes {
  offset: number;
  totalSize: number;
  data: Uint8Array | readonly Uint8Array[];
  /** The bytes are lent: the stream reuses their memory once the next chunk is asked for. */
  borrowed?: boolean;
}

/** A Download call's stream (grpc-js's ClientReadableStream fits). */
export interface ChunkStream extends AsyncIterable<ArtifactBytes> {
  cancel(): void;
}

export interface DownloadOptions {
  file: string;
  /** sha256 (hex) of the artifact file. */
  artifactId: string;
  /** Size announced by the hub; 0 = learn it from the first chunk. */
  size: number;
  /** Offset persisted by the last onDurable. */
  durableOffset: number;
  open(offset: number): ChunkStream;
  /** Resolves once the device can call the hub (online). */
  waitOnline(signal: AbortSignal): Promise<void>;
  onDurable(offset: number): Promise<void>;
  onProgress(bytes: number, total: number): void;
  freeSpace(dir: string): Promise<number>;
  log(line: string): void;
  signal: AbortSignal;
  syncEvery?: number;
  backoff?: BackoffOptions;
  /** A stream that delivers no chunk for this long is cancelled and asked again (default 20 s). */
  stallMs?: number;
  /** Bytes received but not yet written before the stream is held (default 8 MiB). */
  maxBuffered?: number;
}

const DEFAULT_STALL_MS = 20_000;

const MIN_SYNC_EVERY = 256 * 1024;
const MAX_SYNC_EVERY = 4 * 1024 * 1024;

/** How many bytes between durable offsets for an artifact of this size. */
export function syncInterval(size: number): number {
  return Math.min(MAX_SYNC_EVERY, Math.max(MIN_SYNC_EVERY, Math.floor(size / 8)));
}
/** Answers that will not change by asking again soon. */
const REFUSALS = new Set([grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION, grpc.status.OUT_OF_RANGE]);
const MAX_REFUSALS = 5;

export async function downloadArtifact(o: DownloadOptions): Promise<void> {
  const fh = await open(o.file, constants.O_RDWR | constants.O_CREAT, 0o600);
  let writer: DownloadWriter | undefined;
  let started: DownloadHash | undefined;
  try {
    // Inside the try: a hash thread that fails to start still closes the file.
    const hash = (started = createDownloadHash(o.size));
    let total = o.size;
    const onDisk = (await fh.stat()).size;
    // Bytes past the durable offset may be torn (a power cut keeps what the
    // disk got, not what was written): cut back to what was fsynced.
    let pos = Math.min(o.durableOffset, onDisk);
    if (onDisk !== pos) await fh.truncate(pos);
    if (pos > 0) o.log(`resuming the download at byte ${pos} of ${total || '?'}`);
    await hash.prefix(o.file, pos);
    if (total > 0) await checkSpace(o, total - pos);

    const backoff = new Backoff(o.backoff ?? { baseMs: 500, maxMs: 30_000 });
    writer = new DownloadWriter(fh, pos, { syncEvery: o.syncEvery ?? syncInterval(total), onDurable: o.onDurable, maxBuffered: o.maxBuffered, onWritten: (n) => hash.written(n), onFailed: (err) => hash.abort(err) });
    let refusals = 0;
    let problem = '';
    while (total === 0 || pos < total) {
      throwIfAborted(o.signal);
      await o.waitOnline(o.signal);
      let stream: ChunkStream | undefined;
      const cancel = (): void => stream?.cancel();
      o.signal.addEventListener('abort', cancel);
      // A dead connection does not always end its calls (see device-client's
      // keepalive); a stream silent this long is given up and asked again
      // from `pos`, so a download never waits forever. Time spent waiting for
      // the disk (below) does not count.
      const stallMs = o.stallMs ?? DEFAULT_STALL_MS;
      let stallTimer: NodeJS.Timeout | undefined;
      const watchStall = (): void => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          o.log(`no download data for ${Math.round(stallMs / 1000)} s at byte ${pos}; asking the hub again`);
          cancel();
        }, stallMs);
      };
      try {
        stream = o.open(pos);
        watchStall();
        for await (const chunk of stream) {
          if (chunk.offset !== pos) throw new UpdateError(`the hub sent bytes at offset ${chunk.offset}, expected ${pos}`);
          if (total === 0) {
            total = chunk.totalSize;
            await checkSpace(o, total - pos);
          }
          if (chunk.totalSize !== total) throw new UpdateError(`the artifact is ${chunk.totalSize} bytes on the hub, but the deployment announced ${total}`);
          const parts = partsOf(chunk);
          const length = byteLength(parts);
          if (pos + length > total) throw new UpdateError(`the hub sent more than the ${total} bytes of the artifact`);
          pos += length;
          refusals = 0;
          backoff.reset();
          o.onProgress(pos, total);
          // Not pulling the next chunk is the backpressure: grpc-js stops
          // reading and flow control (HTTP/2's, or the artifact stream's
          // credit) holds the hub.
          // Waiting for the hash (a full ring) or the disk is not a stall.
          clearTimeout(stallTimer);
          let room = true;
          const buffers = await hash.update(parts);
          // The writer holds what it is given until it is on disk: lent bytes go as a copy, unless the hash made one.
          for (const buffer of chunk.borrowed && !hash.copies ? buffers.map((b) => Buffer.from(b)) : buffers) room = writer.add(buffer);
          if (!room) await writer.room();
          watchStall();
        }
        if (total > 0 && pos < total) throw Object.assign(new Error(`the hub ended the download at byte ${pos} of ${total}`), { code: grpc.status.UNAVAILABLE });
      } catch (err) {
        if (err instanceof UpdateError || o.signal.aborted) throw err;
        const code = (err as grpc.ServiceError).code;
        // A local failure (the disk, errno codes are strings): not the network's.
        if (typeof code !== 'number') throw err;
        const why = describeError(err);
        if (REFUSALS.has(code) && ++refusals >= MAX_REFUSALS) throw new UpdateError(`the hub refuses the download: ${why}`);
        if (why !== problem) o.log(`download interrupted at byte ${pos} (${why}); resuming`);
        problem = why;
        await sleep(backoff.next(), o.signal);
      } finally {
        clearTimeout(stallTimer);
        o.signal.removeEventListener('abort', cancel);
      }
    }
    await writer.flush();
    await fh.sync();
    await o.onDurable(pos);
    const sha = await hash.digest();
    if (sha !== o.artifactId) throw new UpdateError(`the downloaded artifact's sha256 is ${sha}, not the artifact id ${o.artifactId}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new UpdateError(`disk full while downloading to ${dirname(o.file)}; free some space and deploy again (nothing was installed)`);
    throw err;
  } finally {
    await writer?.stop();
    await started?.close();
    await fh.close();
  }
}

async function checkSpace(o: DownloadOptions, needed: number): Promise<void> {
  const free = await o.freeSpace(dirname(o.file));
  if (free < needed + SPACE_MARGIN) {
    throw new UpdateError(
      `not enough free space in ${dirname(o.file)}: the artifact needs ${needed + SPACE_MARGIN} bytes more, ${free} are free; free some space and deploy again (nothing was installed)`,
    );
  }
}

function partsOf(chunk: ArtifactBytes): readonly Uint8Array[] {
  return chunk.data instanceof Uint8Array ? [chunk.data] : chunk.data;
}

function byteLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const part of parts) n += part.length;
  return n;
}
