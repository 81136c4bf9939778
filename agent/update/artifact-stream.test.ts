import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadChunk } from '../../proto/gen/fleet/v1/device';
import { makeTestCertificate, ScriptedHub, type TestCertificate } from '../testing/scripted-hub';
import * as grpcJs from '@grpc/grpc-js';
import type { TLSSocket } from 'node:tls';
import { encodeLine, readArtifactRequest } from '../../proto/artifact-wire';
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
  it('yields contiguous chunks of 256 KiB from the asked offset, ending at the artifact size', async () => {
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

  /** A hub on a shared port whose artifact connections the test serves itself. */
  async function withHub(serve: (socket: TLSSocket) => void, run: (address: string) => Promise<void>): Promise<void> {
    const port = await listenShared({ host: '127.0.0.1', port: 0, certPem: cert.certPem, keyPem: cert.keyPem, grpcServer: new grpcJs.Server(), artifacts: serve });
    try {
      await run(`127.0.0.1:${port.port}`);
    } finally {
      await port.stopListening();
      port.destroy();
    }
  }

  it('grants credit only for chunks taken: a consumer that holds a chunk holds the hub at the window', async () => {
    const data = randomBytes(4 * ARTIFACT_WINDOW_BYTES);
    let sent = 0;
    let asked = 0;
    await withHub(
      (socket) =>
        void readArtifactRequest(socket, 5000).then(async ({ request, credit }) => {
          asked = request.window;
          socket.write(encodeLine({ offset: 0, totalSize: data.length }));
          while (sent < data.length) {
            const n = Math.min(await credit.room(), 64 * 1024, data.length - sent);
            credit.take(n);
            socket.write(data.subarray(sent, sent + n));
            sent += n;
          }
          socket.end();
        }),
      async (address) => {
        const stream = openArtifactStream({ hub: address, caPem: cert.certPem, token: 't' }, artifactId, 0);
        const it = stream[Symbol.asyncIterator]();
        const first = await it.next();
        await new Promise((r) => setTimeout(r, 300));
        // Nothing taken after the first chunk: the hub may have sent the window, no more.
        expect(asked).toBe(ARTIFACT_WINDOW_BYTES);
        expect(sent).toBe(ARTIFACT_WINDOW_BYTES);
        const got = [joined(first.value as ArtifactBytes).data];
        for (let r = await it.next(); !r.done; r = await it.next()) got.push(joined(r.value).data);
        expect(Buffer.concat(got).equals(data)).toBe(true);
      },
    );
  });

  it('refuses a hub that sends more than it was granted, or past the artifact', async () => {
    const data = randomBytes(ARTIFACT_WINDOW_BYTES + 1);
    await withHub(
      (socket) =>
        void readArtifactRequest(socket, 5000).then(() => {
          socket.write(encodeLine({ offset: 0, totalSize: 10 * data.length }));
          socket.write(data);
        }),
      async (address) => {
        // Holding the first chunk grants nothing more, so the byte past the window is a breach.
        const stream = openArtifactStream({ hub: address, caPem: cert.certPem, token: 't' }, artifactId, 0);
        const it = stream[Symbol.asyncIterator]();
        await it.next();
        await new Promise((r) => setTimeout(r, 300));
        const { error } = await drain({ [Symbol.asyncIterator]: () => it, cancel: () => stream.cancel() });
        expect(error?.code).toBe(grpc.status.INTERNAL);
        expect(error?.details).toBe(`the hub sent more than the ${ARTIFACT_WINDOW_BYTES} bytes granted`);
      },
    );
    await withHub(
      (socket) =>
        void readArtifactRequest(socket, 5000).then(() => {
          socket.write(encodeLine({ offset: 0, totalSize: 1000 }));
          socket.write(data.subarray(0, 1001));
        }),
      async (address) => {
        const { error } = await drain(openArtifactStream({ hub: address, caPem: cert.certPem, token: 't' }, artifactId, 0));
        expect(error?.details).toBe('the hub sent more than the 1000 bytes of the artifact');
      },
    );
  });

  it('treats a hub that ends early as a cut (the caller resumes), and one that closes before answering as UNAVAILABLE', async () => {
    await withHub(
      (socket) =>
        void readArtifactRequest(socket, 5000).then(() => {
          socket.write(encodeLine({ offset: 5, totalSize: 1000 }));
          socket.end(Buffer.alloc(300, 7));
        }),
      async (address) => {
        const { chunks, error } = await drain(openArtifactStream({ hub: address, caPem: cert.certPem, token: 't' }, artifactId, 5));
        expect(error).toBeUndefined();
        expect(chunks).toEqual([{ offset: 5, totalSize: 1000, data: Buffer.alloc(300, 7) }]);
      },
    );
    await withHub(
      (socket) => void readArtifactRequest(socket, 5000).then(() => socket.end()),
      async (address) => {
        const { error } = await drain(openArtifactStream({ hub: address, caPem: cert.certPem, token: 't' }, artifactId, 0));
        expect(error?.code).toBe(grpc.status.UNAVAILABLE);
      },
    );
  });
});
