import { Metadata, status } from '@grpc/grpc-js';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { ArtifactStreamHandler } from '../../proto/shared-port';
import type { ArtifactPaths } from '../artifacts/artifact-paths';
import { RpcError } from '../rpc-error';
import type { HubStore } from '../store/store';
import { grantArtifact } from './artifact-access';
import { sendFileRange } from './send-file-range';

// Artifact bytes as a plain HTTP/2 stream on the hub's own port (ALPN
// `fleet-artifacts/1`, see proto/shared-port.ts) — the path devices use.
// Same rule as the gRPC Download (artifact-access.ts). Why a second way:
// 256 KiB protobuf messages through grpc-js cost the device about three
// times the CPU per byte of a file streamed into HTTP/2 DATA frames, and
// grpc-js keeps a fixed 64 KiB flow-control window, which caps a download
// at window/RTT on a real network; the device picks its own window here.
// HTTP/2 flow control is still the backpressure: the file is read only as
// fast as the device consumes.
//
//   :method GET  :path /v1/artifacts/<sha256>
//   authorization: Bearer <device token>
//   range: bytes=<offset>-        (optional; one open-ended range)
//
// 200/206 with the bytes from the offset, `x-fleet-offset` and
// `x-fleet-total-size`. Errors: JSON `{ "code": "<gRPC status name>",
// "message": "..." }` with the HTTP status below, so the device treats them
// exactly like Download's.

export const ARTIFACT_PATH_PREFIX = '/v1/artifacts/';

const HTTP_STATUS: Partial<Record<status, number>> = {
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.NOT_FOUND]: 404,
  [status.INVALID_ARGUMENT]: 400,
  [status.OUT_OF_RANGE]: 416,
};

/** File reads of this size: few thread-pool trips, a bounded amount held per download. */
const READ_BYTES = 1024 * 1024;

export function createArtifactStreamHandler(store: HubStore, paths: ArtifactPaths, log: (line: string) => void): ArtifactStreamHandler {
  return (stream, headers) => {
    // A device that goes away mid-stream is not an error of the hub.
    stream.on('error', () => undefined);
    serve(store, paths, stream, headers).catch((err: unknown) => {
      if (err instanceof RpcError) return fail(stream, err.code, err.message);
      if (stream.headersSent) return void stream.destroy();
      log(`artifact stream failed: ${(err as Error).message}`);
      fail(stream, status.INTERNAL, `artifact download failed on the hub: ${(err as Error).message}`);
    });
  };
}

async function serve(store: HubStore, paths: ArtifactPaths, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
  const path = String(headers[':path'] ?? '');
  const method = String(headers[':method'] ?? '');
  if (method !== 'GET' || !path.startsWith(ARTIFACT_PATH_PREFIX)) {
    throw new RpcError(status.NOT_FOUND, `no such resource: ${method} ${path.slice(0, 100)} (only GET ${ARTIFACT_PATH_PREFIX}<artifact id>)`);
  }
  const artifactId = path.slice(ARTIFACT_PATH_PREFIX.length);
  const range = headers.range;
  const offset = parseRange(range);
  const metadata = new Metadata();
  if (headers.authorization) metadata.set('authorization', headers.authorization);
  const grant = await grantArtifact(store, paths, metadata, artifactId, offset);
  if (stream.destroyed) return;

  const length = grant.size - offset;
  const response: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'content-length': length,
    'x-fleet-offset': offset,
    'x-fleet-total-size': grant.size,
    'cache-control': 'no-store',
  };
  if (range !== undefined && length > 0) stream.respond({ ':status': 206, ...response, 'content-range': `bytes ${offset}-${grant.size - 1}/${grant.size}` });
  else stream.respond({ ':status': 200, ...response });
  if (length === 0) return void stream.end();
  // HTTP/2 flow control paces the reads; the file is closed whether the device stays or goes.
  await sendFileRange(stream, grant.path, offset, grant.size, READ_BYTES).catch((err: unknown) => {
    if (!stream.destroyed) throw err;
  });
}

function parseRange(header: string | undefined): number {
  if (header === undefined) return 0;
  const m = /^bytes=(\d+)-$/.exec(header.trim());
  if (!m) throw new RpcError(status.INVALID_ARGUMENT, `range must be one open-ended range "bytes=<offset>-", got "${header.slice(0, 80)}"`);
  return Number(m[1]);
}

function fail(stream: ServerHttp2Stream, code: status, message: string): void {
  if (stream.destroyed) return;
  if (stream.headersSent) return void stream.destroy();
  const body = JSON.stringify({ code: status[code], message });
  stream.respond({ ':status': HTTP_STATUS[code] ?? 500, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  stream.end(body);
}
