import { Metadata, status } from '@grpc/grpc-js';
import type { TLSSocket } from 'node:tls';
import { encodeLine, readArtifactRequest } from '../../proto/artifact-wire';
import type { ArtifactSocketHandler } from '../../proto/shared-port';
import type { ArtifactPaths } from '../artifacts/artifact-paths';
import { RpcError } from '../rpc-error';
import type { HubStore } from '../store/store';
import { grantArtifact } from './artifact-access';
import { sendFileRange } from './send-file-range';

// Artifact bytes as a bare byte stream on the hub's own port (ALPN
// `fleet-artifacts/2`, wire format in proto/artifact-wire.ts) — the path
// devices use for big artifacts. Same rule as the gRPC Download
// (artifact-access.ts). Why a second way: 256 KiB protobuf messages through
// grpc-js cost the device about three times the CPU per byte, and even plain
// HTTP/2 cost it more than hashing the bytes; grpc-js also keeps a fixed
// 64 KiB flow-control window, which caps a download at window/RTT on a real
// network. The device's credit is the backpressure: the file is read only as
// fast as the device consumes it.
//
// Refusals answer `{"code": "<gRPC status name>", "message"}` and close, so
// the device treats them exactly like Download's.

/** A device has this long after the TLS handshake to say what it wants. */
const REQUEST_TIMEOUT_MS = 10_000;
/** File reads of this size: few thread-pool trips, a bounded amount held per download. */
const READ_BYTES = 1024 * 1024;

export function createArtifactStreamHandler(store: HubStore, paths: ArtifactPaths, log: (line: string) => void): ArtifactSocketHandler {
  return (socket) => {
    serve(store, paths, socket, log).catch((err: unknown) => {
      if (socket.destroyed) return;
      if (err instanceof RpcError) return refuse(socket, err.code, err.message);
      log(`artifact stream failed: ${(err as Error).message}`);
      refuse(socket, status.INTERNAL, `artifact download failed on the hub: ${(err as Error).message}`);
    });
  };
}

async function serve(store: HubStore, paths: ArtifactPaths, socket: TLSSocket, log: (line: string) => void): Promise<void> {
  let got: Awaited<ReturnType<typeof readArtifactRequest>>;
  try {
    got = await readArtifactRequest(socket, REQUEST_TIMEOUT_MS);
  } catch (err) {
    throw new RpcError(status.INVALID_ARGUMENT, `not an artifact request: ${(err as Error).message}`);
  }
  const { request, credit } = got;
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${request.token}`);
  const grant = await grantArtifact(store, paths, metadata, request.artifactId, request.offset);
  if (socket.destroyed) return;
  socket.write(encodeLine({ offset: request.offset, totalSize: grant.size }));
  // Once bytes flow, a failure can only be told by closing: the device sees
  // the stream end short and resumes from its last byte.
  await sendFileRange(socket, credit, grant.path, request.offset, grant.size, READ_BYTES).catch((err: unknown) => {
    if (!socket.destroyed) {
      socket.destroy();
      log(`artifact stream of ${request.artifactId} to ${grant.deviceId} failed: ${(err as Error).message}`);
    }
  });
}

function refuse(socket: TLSSocket, code: status, message: string): void {
  socket.end(encodeLine({ code: status[code], message }));
}
