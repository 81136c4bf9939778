import type { ServerWritableStream } from '@grpc/grpc-js';
import { open } from 'node:fs/promises';
import type { DownloadChunk, DownloadRequest } from '../../proto/gen/fleet/v1/device';
import type { ArtifactPaths } from '../artifacts/artifact-paths';
import type { HubStore } from '../store/store';
import { grantArtifact } from './artifact-access';

export type DownloadCall = ServerWritableStream<DownloadRequest, DownloadChunk>;

export const DOWNLOAD_CHUNK_BYTES = 256 * 1024;
const READ_BYTES = 4 * DOWNLOAD_CHUNK_BYTES;

/**
 * Streams an artifact file from the requested offset to a device that is a
 * target of a deployment of it. The file is read (a block of a few chunks at
 * a time) only when grpc-js has room for more (write() returning false
 * pauses until 'drain'), so memory stays at a few chunks per download
 * whatever the file size and however slow the device reads.
 */
export async function serveDownload(store: HubStore, paths: ArtifactPaths, call: DownloadCall): Promise<void> {
  const { artifactId, offset } = call.request;
  const artifact = await grantArtifact(store, paths, call.metadata, artifactId, offset);

  let file;
  try {
    file = await open(artifact.path, 'r');
  } catch (err) {
    throw new Error(`artifact file of ${artifactId} cannot be opened: ${(err as Error).message}`);
  }
  let stopped = false;
  const stop = () => (stopped = true);
  call.on('cancelled', stop);
  call.on('close', stop);
  try {
    let position = offset;
    while (position < artifact.size && !stopped) {
      // One read per READ_BYTES (a fresh buffer: grpc-js may still hold
      // chunks of the previous one), sliced into chunks: a quarter of the
      // thread-pool trips of reading chunk by chunk.
      const block = Buffer.allocUnsafeSlow(Math.min(READ_BYTES, artifact.size - position));
      const { bytesRead } = await file.read(block, 0, block.length, position);
      if (bytesRead !== block.length) throw new Error(`artifact file of ${artifactId} is shorter than recorded (${artifact.size} bytes): it was changed on disk`);
      for (let at = 0; at < block.length && !stopped; at += DOWNLOAD_CHUNK_BYTES) {
        const data = block.subarray(at, at + DOWNLOAD_CHUNK_BYTES);
        const roomLeft = call.write({ offset: position, data, totalSize: artifact.size });
        position += data.length;
        if (!roomLeft) await drained(call);
      }
    }
  } finally {
    call.off('cancelled', stop);
    call.off('close', stop);
    await file.close();
  }
  if (!stopped && !call.writableEnded) call.end();
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
