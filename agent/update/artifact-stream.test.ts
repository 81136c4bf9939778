import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadChunk } from '../../proto/gen/fleet/v1/device';
import { makeTestCertificate, ScriptedHub, type TestCertificate } from '../testing/scripted-hub';
import { openArtifactStream } from './artifact-stream';
import type { ChunkStream } from './download';

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

async function drain(stream: ChunkStream): Promise<{ chunks: DownloadChunk[]; error?: grpc.ServiceError }> {
  const chunks: DownloadChunk[] = [];
  try {
    for await (const c of stream) chunks.push(c);
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
        chunks.push(c);
        stream.cancel();
      }
    } catch (e) {
      error = e as grpc.ServiceError;
    }
    expect(chunks.length).toBe(1);
    expect(error?.code).toBe(grpc.status.CANCELLED);
  });
});
