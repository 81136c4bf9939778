import * as grpc from '@grpc/grpc-js';
import { connect as connectH2, constants, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { connect as connectTls } from 'node:tls';
import { ARTIFACT_ALPN } from '../../proto/shared-port';
import { certificateFingerprint } from '../../proto/tls-fingerprint';
import { hubFingerprint } from '../device-client';
import type { ArtifactBytes, ChunkStream } from './download';
import { gatherFrames } from './frame-gatherer';

// An artifact's bytes from the hub's artifact stream (hub/device/
// artifact-stream.ts: same port and TLS pin, ALPN `fleet-artifacts/1`, same
// token and rules as the gRPC Download) instead of 256 KiB protobuf messages:
// about a third of the CPU per byte, and a flow-control window of our
// choosing (grpc-js keeps 64 KiB, which caps a download at 64 KiB per
// round trip on a real network). The window is also what a network cut can
// lose in flight, so it is a balance: 1 MiB = 20 MB/s at 50 ms RTT, and at
// most 1 MiB fetched twice per cut.
//
// It yields the same chunks as Download, so downloadArtifact's resume, stall
// watchdog and hash check are unchanged, and it fails the same way: a numeric
// gRPC status code on every network or hub error (refusals keep their
// meaning; everything else is UNAVAILABLE and retried from the last byte).

export interface ArtifactStreamTarget {
  /** The hub's `host:port` (the gRPC address: one port serves both). */
  hub: string;
  /** The pinned hub certificate. */
  caPem: string;
  token: string;
}

/** Artifacts at least this big use the stream; smaller ones the Download RPC on the existing connection (see DeviceAgent.download). */
export const ARTIFACT_STREAM_MIN_BYTES = 4 * 1024 * 1024;
/** HTTP/2 stream window: the most bytes the hub may have in flight to us. */
export const ARTIFACT_WINDOW_BYTES = 1024 * 1024;
/** Frames are handed on in groups of at least this many bytes (the last excepted): fewer per-chunk costs downstream. */
const MIN_CHUNK_BYTES = 256 * 1024;

const STATUS_BY_NAME = grpc.status as unknown as Record<string, number>;

export function openArtifactStream(target: ArtifactStreamTarget, artifactId: string, offset: number): ChunkStream {
  const url = new URL(`https://${target.hub}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || 443);
  const pinned = hubFingerprint(target.caPem);
  let cancelled = false;
  // One connection per download: simulated devices must not share one, and
  // a cut connection takes only this download with it.
  const session = connectH2(url.origin, {
    createConnection: () =>
      connectTls({
        host,
        port,
        ca: target.caPem,
        ALPNProtocols: [ARTIFACT_ALPN],
        // The certificate names 'fleet-hub'; the pin below is the real check (as for gRPC).
        servername: 'fleet-hub',
        checkServerIdentity: (_host, cert) => {
          const actual = certificateFingerprint(cert.raw);
          return actual === pinned ? undefined : new Error(`hub certificate ${actual} is not the trusted ${pinned}`);
        },
      }),
    settings: { initialWindowSize: ARTIFACT_WINDOW_BYTES, enablePush: false },
  });
  // The connection has its own window (65,535 bytes unless raised), which
  // would cap the stream's at that: raise it to the stream's.
  session.once('connect', () => session.setLocalWindowSize(ARTIFACT_WINDOW_BYTES));
  const sessionFailed = new Promise<never>((_resolve, reject) => {
    session.once('error', reject);
    session.once('close', () => reject(new Error('the connection to the hub closed')));
  });
  sessionFailed.catch(() => undefined);
  const req: ClientHttp2Stream = session.request({ ':method': 'GET', ':path': `/v1/artifacts/${encodeURIComponent(artifactId)}`, authorization: `Bearer ${target.token}`, range: `bytes=${offset}-` });
  req.on('error', () => undefined); // reported by the iterator below
  const response = new Promise<IncomingHttpHeaders>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.once('close', () => reject(new Error(`the hub closed the download stream (HTTP/2 code ${req.rstCode})`)));
  });
  response.catch(() => undefined);

  const end = (): void => {
    if (!req.destroyed) req.close(constants.NGHTTP2_CANCEL);
    if (!session.destroyed) session.destroy();
  };

  async function* chunks(): AsyncGenerator<ArtifactBytes> {
    try {
      let headers: IncomingHttpHeaders;
      try {
        headers = await Promise.race([response, sessionFailed]);
      } catch (err) {
        throw networkError(err, cancelled);
      }
      const code = Number(headers[':status']);
      if (code !== 200 && code !== 206) throw await refusal(req, code);
      const total = Number(headers['x-fleet-total-size']);
      if (!Number.isSafeInteger(total) || Number(headers['x-fleet-offset']) !== offset) {
        throw grpcError(grpc.status.INTERNAL, `the hub answered the download without a valid x-fleet-total-size/x-fleet-offset (asked from ${offset})`);
      }
      let position = offset;
      try {
        // What arrived before a cut is handed on before the error, so the
        // resume asks only for what is missing.
        for await (const data of gatherFrames(req, MIN_CHUNK_BYTES, ARTIFACT_WINDOW_BYTES)) {
          if (cancelled) break;
          let length = 0;
          for (const part of data) length += part.length;
          yield { offset: position, data, totalSize: total };
          position += length;
        }
      } catch (err) {
        throw networkError(err, cancelled);
      }
      if (cancelled) throw networkError(undefined, true);
      // A stream reset by the hub ends the iteration quietly: say so.
      if (req.rstCode !== undefined && req.rstCode !== constants.NGHTTP2_NO_ERROR) throw networkError(new Error(`the hub reset the download stream (HTTP/2 code ${req.rstCode})`), cancelled);
    } finally {
      end();
    }
  }

  const iterator = chunks();
  return {
    [Symbol.asyncIterator]: () => iterator,
    cancel() {
      cancelled = true;
      end();
    },
  };
}

async function refusal(req: ClientHttp2Stream, httpStatus: number): Promise<Error> {
  let body = '';
  try {
    for await (const part of req as AsyncIterable<Buffer>) {
      body += part.toString('utf8');
      if (body.length > 64 * 1024) break;
    }
    const parsed = JSON.parse(body) as { code?: string; message?: string };
    const code = parsed.code !== undefined ? STATUS_BY_NAME[parsed.code] : undefined;
    if (typeof code === 'number' && parsed.message) return grpcError(code, parsed.message);
  } catch {
    // not the hub's JSON: fall through
  }
  const code = httpStatus >= 500 ? grpc.status.UNAVAILABLE : grpc.status.UNKNOWN;
  return grpcError(code, `the hub answered HTTP ${httpStatus} to the download${body ? `: ${body.slice(0, 200)}` : ''}`);
}

function networkError(err: unknown, cancelled: boolean): Error {
  if (cancelled) return grpcError(grpc.status.CANCELLED, 'download cancelled');
  if (typeof (err as { code?: unknown }).code === 'number') return err as Error;
  return grpcError(grpc.status.UNAVAILABLE, (err as Error).message || String(err));
}

function grpcError(code: grpc.status, details: string): Error {
  return Object.assign(new Error(`${grpc.status[code]}: ${details}`), { code, details });
}
