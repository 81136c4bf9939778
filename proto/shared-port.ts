import * as grpc from '@grpc/grpc-js';
import type { Socket } from 'node:net';
import { DEFAULT_CIPHERS, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { STREAM_ALPN } from './stream-wire';

// One TLS port for both of the hub's protocols, chosen by ALPN: gRPC clients
// offer "h2" and go to grpc-js (through its connection injector, which runs
// HTTP/2 on our already-decrypted socket); devices fetching artifact bytes
// offer ARTIFACT_ALPN and get the socket itself (artifact-wire.ts). One port
// keeps firewalls, proxies and the device config as they were.

/** The ALPN name of the artifact byte stream (artifact-wire.ts). */
export const ARTIFACT_ALPN = 'fleet-artifacts/2';

/** An artifact connection idle this long is closed (the device resumes from what it has). */
const ARTIFACT_IDLE_MS = 120_000;

export type ArtifactSocketHandler = (socket: TLSSocket) => void;

/** Serves a connection of STREAM_ALPN (stream-wire.ts). */
export type StreamSocketHandler = (socket: TLSSocket) => void;

// The hub picks the TLS 1.3 suite, and picks AES-128-GCM first: TLS 1.3's
// mandatory suite, with no known weakness, and on AES-NI about 1.3x faster
// than AES-256-GCM (openssl speed here: 4.4 against 3.4 GB/s). The hub
// decrypts and re-encrypts every byte of a remote session or an artifact, so
// the cipher is a large share of its CPU (26% of it relaying an upload).
// Node's default order puts AES-256 first and lets the client's order win.
const AES_128_FIRST = ['TLS_AES_128_GCM_SHA256', ...DEFAULT_CIPHERS.split(':').filter((c) => c !== 'TLS_AES_128_GCM_SHA256')].join(':');

export interface SharedPortOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  grpcServer: grpc.Server;
  artifacts: ArtifactSocketHandler;
  /** The remote sessions' data plane; without it, clients of STREAM_ALPN are refused in the handshake. */
  streams?: StreamSocketHandler;
}

export interface SharedPort {
  port: number;
  /** Stops accepting new connections. */
  stopListening(): Promise<void>;
  /** Ends every connection still open. */
  destroy(): void;
}

export function listenShared(o: SharedPortOptions): Promise<SharedPort> {
  const injector = o.grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const sockets = new Set<Socket>();
  const alpn = ['h2', ARTIFACT_ALPN, ...(o.streams ? [STREAM_ALPN] : [])];
  const tls = createTlsServer({ cert: o.certPem, key: o.keyPem, ALPNProtocols: alpn, ciphers: AES_128_FIRST, honorCipherOrder: true }, (socket: TLSSocket) => {
    if (socket.alpnProtocol === STREAM_ALPN && o.streams) {
      socket.on('error', () => undefined);
      o.streams(socket);
    } else if (socket.alpnProtocol === ARTIFACT_ALPN) {
      // A connection that breaks (the device went away) is the device's
      // problem; one silent for two minutes (a device that vanished without
      // a FIN) is closed.
      socket.on('error', () => undefined);
      socket.setTimeout(ARTIFACT_IDLE_MS, () => socket.destroy());
      o.artifacts(socket);
    } else injector.injectConnection(socket);
  });
  tls.on('connection', (raw: Socket) => {
    sockets.add(raw);
    raw.once('close', () => sockets.delete(raw));
  });
  // A client that fails the handshake (wrong CA, port scan) is its own problem.
  tls.on('tlsClientError', (_err, socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    tls.once('error', reject);
    tls.listen(o.port, o.host, () => {
      tls.off('error', reject);
      const address = tls.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : o.port,
        stopListening: () => new Promise((done) => tls.close(() => done())),
        destroy() {
          injector.destroy();
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}
