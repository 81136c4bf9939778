import * as grpc from '@grpc/grpc-js';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { encodeCredit, encodeLine, LineReader, parseAnswer } from '../../proto/artifact-wire';
import { ARTIFACT_ALPN } from '../../proto/shared-port';
import { pinnedCertificateCheck } from '../../proto/tls-fingerprint';
import { hubFingerprint } from '../device-client';
import type { ArtifactBytes, ChunkStream } from './download';

// An artifact's bytes from the hub's artifact stream (hub/device/
// artifact-stream.ts, wire format in proto/artifact-wire.ts: same port and
// TLS pin, same token and rules as the gRPC Download) instead of 256 KiB
// protobuf messages. The socket decrypts into one buffer of ours (no buffer
// per TLS record, nothing for the garbage collector), and the bytes are
// copied once into chunks of CHUNK_BYTES that are lent to the downloader
// (`borrowed`: valid until its next pull) and then reused.
//
// The window (credit granted to the hub) is what a network cut can lose in
// flight, so it is a balance: 1 MiB = 20 MB/s at 50 ms RTT, and at most
// 1 MiB fetched twice per cut. A chunk's bytes are granted again once the
// downloader takes the chunk, so nothing here holds more than the window.
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
/** The credit: the most bytes the hub may have in flight to us. */
export const ARTIFACT_WINDOW_BYTES = 1024 * 1024;
/** Bytes are handed on in chunks of this size (the last excepted). */
const CHUNK_BYTES = 256 * 1024;
/** The socket decrypts into a buffer of this size. */
const READ_BUFFER_BYTES = 64 * 1024;

const STATUS_BY_NAME = grpc.status as unknown as Record<string, number>;

export function openArtifactStream(target: ArtifactStreamTarget, artifactId: string, offset: number): ChunkStream {
  const url = new URL(`https://${target.hub}`);
  const pinned = hubFingerprint(target.caPem);
  let cancelled = false;
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  // What the hub said before the bytes, then the bytes in chunks.
  const header = new LineReader();
  let answer: { offset: number; totalSize: number } | undefined;
  const ready: ArtifactBytes[] = [];
  let position = offset;
  // Chunk buffers come back once the downloader has taken them (its next
  // pull): at most window/chunk + 2 exist. A fresh 256 KiB buffer per chunk
  // was a GiB of external memory per GiB downloaded, and V8 answers that
  // with a full collection every few dozen MiB (over a second of GC threads
  // per GiB).
  const spare: Buffer[] = [];
  let chunk: Buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  let filled = 0;
  let received = 0;
  let granted = ARTIFACT_WINDOW_BYTES;

  const fail = (err: Error): void => {
    // Bytes already taken in are sound (TLS checked each record): hand them
    // on, so the resume after a cut asks only for what is missing.
    if (!failure && answer) handOn();
    failure ??= err;
    socket.destroy();
    signal();
  };
  function handOn(): void {
    if (filled === 0) return;
    ready.push({ offset: position, totalSize: answer!.totalSize, data: chunk.subarray(0, filled), borrowed: true });
    position += filled;
    chunk = spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
    filled = 0;
    signal();
  }
  const take = (bytes: Uint8Array): void => {
    received += bytes.length;
    if (received > granted) return fail(grpcError(grpc.status.INTERNAL, `the hub sent more than the ${granted} bytes granted`));
    if (position + filled + bytes.length > answer!.totalSize) return fail(grpcError(grpc.status.INTERNAL, `the hub sent more than the ${answer!.totalSize} bytes of the artifact`));
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(bytes.length - at, CHUNK_BYTES - filled);
      chunk.set(bytes.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === CHUNK_BYTES) handOn();
    }
  };
  const onRead = (n: number, buffer: Buffer): boolean => {
    if (failure) return true;
    let bytes: Uint8Array = buffer.subarray(0, n);
    if (!answer) {
      let got: ReturnType<LineReader['push']>;
      try {
        got = header.push(bytes);
        if (!got) return true;
        const parsed = parseAnswer(got.line);
        if ('code' in parsed) {
          const code = STATUS_BY_NAME[parsed.code];
          fail(grpcError(typeof code === 'number' ? code : grpc.status.UNKNOWN, parsed.message));
          return true;
        }
        if (parsed.offset !== offset) throw new Error(`the hub answered from byte ${parsed.offset}, asked from ${offset}`);
        answer = parsed;
      } catch (err) {
        fail(grpcError(grpc.status.INTERNAL, `the hub's answer to the download is not valid: ${(err as Error).message}`));
        return true;
      }
      bytes = got.rest;
      signal();
    }
    if (bytes.length > 0) take(bytes);
    return true;
  };

  const options: ConnectionOptions & { onread: { buffer: Buffer; callback: (n: number, buffer: Buffer) => boolean } } = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port || 443),
    ca: target.caPem,
    ALPNProtocols: [ARTIFACT_ALPN],
    // The certificate names 'fleet-hub'; the pin below is the real check (as for gRPC).
    servername: 'fleet-hub',
    checkServerIdentity: pinnedCertificateCheck(pinned),
    onread: { buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES), callback: onRead },
  };
  // One connection per download: simulated devices must not share one, and
  // a cut connection takes only this download with it.
  const socket = connectTls(options);
  socket.once('secureConnect', () => {
    socket.write(encodeLine({ artifactId, offset, token: target.token, window: ARTIFACT_WINDOW_BYTES }));
  });
  socket.on('error', (err) => fail(grpcError(grpc.status.UNAVAILABLE, err.message)));
  socket.on('end', () => {
    if (answer) handOn();
    ended = true;
    signal();
  });
  socket.on('close', () => {
    if (!ended && !failure) fail(grpcError(grpc.status.UNAVAILABLE, 'the connection to the hub closed'));
    signal();
  });

  async function* chunks(): AsyncGenerator<ArtifactBytes> {
    try {
      for (;;) {
        const next = ready.shift();
        if (next) {
          yield next;
          // Taken: its buffer may be filled again, and the hub may send its bytes again.
          const data = next.data as Uint8Array;
          spare.push(Buffer.from(data.buffer, data.byteOffset, CHUNK_BYTES));
          const length = data.length;
          granted += length;
          if (!socket.destroyed) socket.write(encodeCredit(length));
          continue;
        }
        if (cancelled) throw grpcError(grpc.status.CANCELLED, 'download cancelled');
        // What arrived before a cut is handed on before the error, so the
        // resume asks only for what is missing.
        if (failure) throw failure;
        if (ended) {
          if (!answer) throw grpcError(grpc.status.UNAVAILABLE, 'the hub closed the download before answering');
          // Fewer bytes than the artifact: downloadArtifact resumes from here.
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      socket.destroy();
    }
  }

  const iterator = chunks();
  return {
    [Symbol.asyncIterator]: () => iterator,
    cancel() {
      cancelled = true;
      ready.length = 0;
      socket.destroy();
      signal();
    },
  };
}

function grpcError(code: grpc.status, details: string): Error {
  return Object.assign(new Error(`${grpc.status[code]}: ${details}`), { code, details });
}
