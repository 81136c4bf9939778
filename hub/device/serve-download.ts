import type { ServerWritableStream } from '@grpc/grpc-js';
import { open } from 'node:fs/promises';
import type { DownloadChunk, DownloadRequest } from '../../proto/gen/fleet/v1/device';
import type { ArtifactPaths } from '../artifacts/artifact-paths';
import type { HubStore } from '../store/store';
import { grantArtifact, type ArtifactGrant } from './artifact-access';
import { EncodedChunk, encodeDownloadChunk } from './download-chunk';

export type DownloadCall = ServerWritableStream<DownloadRequest, DownloadChunk>;

export const DOWNLOAD_CHUNK_BYTES = 256 * 1024;
const READ_BYTES = 4 * DOWNLOAD_CHUNK_BYTES;

/**
 * Artifacts up to this size are served from shared encoded chunks (below);
 * bigger ones (which agents fetch through the artifact stream) are read per
 * download.
 */
export const SHARED_ARTIFACT_MAX_BYTES = 4 * 1024 * 1024;
/** Memory the shared chunks may hold; the oldest go first. */
const SHARED_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Streams an artifact file from the requested offset to a device that is a
 * target of a deployment of it. Big artifacts are read (a block of a few
 * chunks at a time) only when grpc-js has room for more (write() returning
 * false pauses until 'drain'), so memory stays at a few chunks per download
 * whatever the file size and however slow the device reads.
 */
export async function serveDownload(store: HubStore, paths: ArtifactPaths, call: DownloadCall): Promise<void> {
  const { artifactId, offset } = call.request;
  const artifact = await grantArtifact(store, paths, call.metadata, artifactId, offset);
  let stopped = false;
  const stop = () => (stopped = true);
  call.on('cancelled', stop);
  call.on('close', stop);
  try {
    if (artifact.size <= SHARED_ARTIFACT_MAX_BYTES) {
      for (let position = offset; position < artifact.size && !stopped; ) {
        const chunk = await sharedChunk(artifactId, artifact, position);
        if (stopped) break;
        // HUB_DEVICE_SERVICE (download-chunk.ts) sends an EncodedChunk's bytes as they are.
        const roomLeft = call.write(chunk.encoded as unknown as DownloadChunk);
        position += chunk.length;
        if (!roomLeft) await drained(call);
      }
    } else {
      await streamFile(artifactId, artifact, offset, call, () => stopped);
    }
  } finally {
    call.off('cancelled', stop);
    call.off('close', stop);
  }
  if (!stopped && !call.writableEnded) call.end();
}

async function streamFile(artifactId: string, artifact: ArtifactGrant, offset: number, call: DownloadCall, stopped: () => boolean): Promise<void> {
  const file = await openArtifact(artifactId, artifact);
  try {
    let position = offset;
    while (position < artifact.size && !stopped()) {
      // One read per READ_BYTES (a fresh buffer: grpc-js may still hold
      // chunks of the previous one), sliced into chunks: a quarter of the
      // thread-pool trips of reading chunk by chunk.
      const block = Buffer.allocUnsafeSlow(Math.min(READ_BYTES, artifact.size - position));
      const { bytesRead } = await file.read(block, 0, block.length, position);
      if (bytesRead !== block.length) throw changedOnDisk(artifactId, artifact);
      for (let at = 0; at < block.length && !stopped(); at += DOWNLOAD_CHUNK_BYTES) {
        const data = block.subarray(at, at + DOWNLOAD_CHUNK_BYTES);
        const roomLeft = call.write({ offset: position, data, totalSize: artifact.size });
        position += data.length;
        if (!roomLeft) await drained(call);
      }
    }
  } finally {
    await file.close();
  }
}

async function openArtifact(artifactId: string, artifact: ArtifactGrant) {
  try {
    return await open(artifact.path, 'r');
  } catch (err) {
    throw new Error(`artifact file of ${artifactId} cannot be opened: ${(err as Error).message}`);
  }
}

function changedOnDisk(artifactId: string, artifact: ArtifactGrant): Error {
  return new Error(`artifact file of ${artifactId} is shorter than recorded (${artifact.size} bytes): it was changed on disk`);
}

interface SharedChunk {
  encoded: EncodedChunk;
  /** Artifact bytes in it. */
  length: number;
}

// Encoded chunks of small artifacts, shared by every download of the same
// bytes: 10,000 devices fetching a 69 KiB artifact cost one file read and
// one encoding instead of 10,000 of each, and hold one copy between them
// besides grpc-js's own frame per stream. Artifacts are content-addressed
// (the id is the file's sha256), so a chunk can never be stale; reads of the
// same chunk that overlap share one read.
const shared = new Map<string, { chunk: Promise<SharedChunk>; length: number }>();
let sharedBytes = 0;

function sharedChunk(artifactId: string, artifact: ArtifactGrant, position: number): Promise<SharedChunk> {
  const key = `${artifactId}@${position}`;
  let entry = shared.get(key);
  if (!entry) {
    const length = Math.min(DOWNLOAD_CHUNK_BYTES, artifact.size - position);
    const made = { chunk: readChunk(artifactId, artifact, position, length), length };
    entry = made;
    shared.set(key, made);
    sharedBytes += length;
    // A failed read is not kept: the next download tries again.
    made.chunk.catch(() => {
      if (shared.get(key) === made) forget(key);
    });
    // Oldest first (a Map iterates in insertion order).
    for (const old of shared.keys()) {
      if (sharedBytes <= SHARED_CACHE_BYTES) break;
      if (old !== key) forget(old);
    }
  }
  return entry.chunk;
}

function forget(key: string): void {
  const entry = shared.get(key);
  if (!entry) return;
  shared.delete(key);
  sharedBytes -= entry.length;
}

async function readChunk(artifactId: string, artifact: ArtifactGrant, position: number, length: number): Promise<SharedChunk> {
  const file = await openArtifact(artifactId, artifact);
  try {
    const data = Buffer.allocUnsafeSlow(length);
    const { bytesRead } = await file.read(data, 0, length, position);
    if (bytesRead !== length) throw changedOnDisk(artifactId, artifact);
    return { encoded: new EncodedChunk(encodeDownloadChunk(position, data, artifact.size)), length };
  } finally {
    await file.close();
  }
}

/** Resolves when grpc-js can take more, or when the call is gone. */
function drained(call: DownloadCall): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
}
