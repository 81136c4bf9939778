import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadChunk } from '../../proto/gen/fleet/v1/device';
import { makeTestCertificate, ScriptedHub, type TestCertificate } from '../testing/scripted-hub';
import * as grpcJs from '@grpc/grpc-js';
import { listenShared } from '../../proto/shared-port';
import { ARTIFACT_WINDOW_BYTES, openArtifactStream } from './artifact-stream';
import type { ArtifactBytes, ChunkStream } from './download';

let cert: TestCertificate;
let hub: ScriptedHub;
let address: string;
const bytes = randomBytes(3 * 1024 * 1024 + 12_345);
let artifactId: string;

beforeAll(async () => {
  cert = makeTestCertificate();
  hub = new ScriptedHub(cert, { chunkSize: 16 * 1024 });
  address = await hub.listen();
  artifactId = hub.addArtifact(bytes);
});

afterAll(() => hub?.kill());

/** The chunk with its frames joined (the stream hands them on as received). */
function joined(c: ArtifactBytes): DownloadChunk {
  return { offset: c.offset, totalSize: c.totalSize, data: Buffer.concat(c.data instanceof Uint8Array ? [c.data] : [...c.data]) };
}

async function drain(stream: ChunkStream): Promise<{ chunks: DownloadChunk[]; error?: grpc.ServiceError }> {
  const chunks: DownloadChunk[] = [];
  try {
    for await (const c of stream) chunks.push(joined(c));
    return { chunks };
  } catch (error) {
    return { chunks, error: error as grpc.ServiceError };
  }
}

describe('artifact stream (device side)', () => {
  it('yields contiguous chunks of at least 256 KiB from the asked offset, ending at the artifact size', async () => {
    const offset = 100_001;
    const { chunks, error } = await drain(openArtifactStream({ hub: address, caPem: cert.certPem, token: hub.issueToken() }, artifactId, offset));
    expect(error).toBeUndefined();
    let at = offset;
    for (const [i, c] of chunks.entries()) {
      expect(c.offset).toBe(at);
      expect(c.totalSize).toBe(bytes.length);
      if (i < chunks.length - 1) expect(c.data.length).toBeGreaterThanOrEqual(256 * 1024);
      at += c.data.length;
    }
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(bytes.subarray(offset))).toBe(true);
  });

  it("fails with the hub's refusal as a gRPC status, like Download", async () => {
    const missing = await drain(openArtifactStream({ hub: address, caPem: cert.certPem, token: hub.issueToken() }, 'f'.repeat(64), 0));
    expect(missing.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(missing.error?.details).toBe(`no artifact ${'f'.repeat(64)}`);
    const expired = await drain(openArtifactStream({ hub: address, caPem: cert.certPem, token: 'not-a-token' }, artifactId, 0));
    expect(expired.error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('refuses a hub whose certificate is not the pinned one (UNAVAILABLE, retried, never trusted)', async () => {
    const other = makeTestCertificate();
    const { chunks, error } = await drain(openArtifactStream({ hub: address, caPem: other.certPem, token: hub.issueToken() }, artifactId, 0));
    expect(chunks).toEqual([]);
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('ends with CANCELLED when cancelled mid-stream', async () => {
    const stream = openArtifactStream({ hub: address, caPem: cert.certPem, token: hub.issueToken() }, artifactId, 0);
    const chunks: DownloadChunk[] = [];
    let error: grpc.ServiceError | undefined;
    try {
      for await (const c of stream) {
        chunks.push(joined(c));
        stream.cancel();
      }
    } catch (e) {
      error = e as grpc.ServiceError;
    }
    expect(chunks.length).toBe(1);
    expect(error?.code).toBe(grpc.status.CANCELLED);
  });

  it('opens the connection window to the stream window (HTTP/2 leaves it at 65,535, which capped downloads)', async () => {
    let seen = -1;
    const port = await listenShared({
      host: '127.0.0.1',
      port: 0,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      grpcServer: new grpcJs.Server(),
      artifacts: (stream) => {
        seen = stream.session?.state.remoteWindowSize ?? -1;
        stream.respond({ ':status': 404, 'content-type': 'application/json' });
        stream.end(JSON.stringify({ code: 'NOT_FOUND', message: 'nothing here' }));
      },
    });
    try {
      const { error } = await drain(openArtifactStream({ hub: `127.0.0.1:${port.port}`, caPem: cert.certPem, token: 't' }, artifactId, 0));
      expect(error?.code).toBe(grpc.status.NOT_FOUND);
      expect(seen).toBeGreaterThanOrEqual(ARTIFACT_WINDOW_BYTES);
    } finally {
      await port.stopListening();
      port.destroy();
    }
  });
});
