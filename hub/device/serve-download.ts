import { status, type ServerWritableStream } from '@grpc/grpc-js';
import { open } from 'node:fs/promises';
import type { DownloadChunk, DownloadRequest } from '../../proto/gen/fleet/v1/device';
import { storedArtifactPath, type ArtifactPaths } from '../artifacts/artifact-paths';
import { RpcError } from '../rpc-error';
import type { HubStore } from '../store/store';
import { authenticateDevice } from './device-auth';

export type DownloadCall = ServerWritableStream<DownloadRequest, DownloadChunk>;

export const DOWNLOAD_CHUNK_BYTES = 256 * 1024;
const ARTIFACT_ID = /^[0-9a-f]{64}$/;

/**
 * Streams an artifact file from the requested offset to a device that is a
 * target of a deployment of it. Each chunk is read from disk only when
 * grpc-js has room for it (write() returning false pauses until 'drain'), so
 * memory stays at a few chunks per download whatever the file size and
 * however slow the device reads.
 */
export async function serveDownload(store: HubStore, paths: ArtifactPaths, call: DownloadCall): Promise<void> {
  const device = await authenticateDevice(store, call.metadata);
  const { artifactId, offset } = call.request;
  if (!ARTIFACT_ID.test(artifactId)) throw new RpcError(status.INVALID_ARGUMENT, `artifact_id must be the artifact's sha256 in hex (64 characters), got "${artifactId.slice(0, 80)}"`);
  if (!(await store.deviceMayDownload(device.id, artifactId))) {
    throw new RpcError(status.PERMISSION_DENIED, `device ${device.id} is not a target of any deployment of artifact ${artifactId}`);
  }
  const artifact = await store.getArtifact(artifactId);
  if (!artifact) throw new RpcError(status.NOT_FOUND, `artifact ${artifactId} is not stored on this hub any more`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > artifact.size) {
    throw new RpcError(status.OUT_OF_RANGE, `offset ${offset} is outside artifact ${artifactId} (${artifact.size} bytes): ask from 0 to ${artifact.size}`);
  }

  let file;
  try {
    file = await open(storedArtifactPath(paths, artifactId), 'r');
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
      // A fresh buffer per chunk: grpc-js may still hold the previous one.
      const data = Buffer.allocUnsafeSlow(Math.min(DOWNLOAD_CHUNK_BYTES, artifact.size - position));
      const { bytesRead } = await file.read(data, 0, data.length, position);
      if (bytesRead !== data.length) throw new Error(`artifact file of ${artifactId} is shorter than recorded (${artifact.size} bytes): it was changed on disk`);
      if (stopped) break;
      const roomLeft = call.write({ offset: position, data, totalSize: artifact.size });
      position += bytesRead;
      if (!roomLeft) await drained(call);
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
