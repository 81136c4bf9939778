import * as grpc from '@grpc/grpc-js';
import { createServer as createH2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';

// One TLS port for both of the hub's protocols, chosen by ALPN: gRPC clients
// offer "h2" and go to grpc-js (through its connection injector, which runs
// HTTP/2 on our already-decrypted socket); devices fetching artifact bytes
// offer ARTIFACT_ALPN and get a plain HTTP/2 server of our own. One port
// keeps firewalls, proxies and the device config as they were.

/** The ALPN name of the artifact byte stream (HTTP/2 without gRPC framing). */
export const ARTIFACT_ALPN = 'fleet-artifacts/1';

/** An artifact connection idle this long is closed (the device resumes from what it has). */
const ARTIFACT_IDLE_MS = 120_000;

export type ArtifactStreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

export interface SharedPortOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  grpcServer: grpc.Server;
  artifacts: ArtifactStreamHandler;
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
  const artifacts = createH2Server();
  artifacts.on('stream', o.artifacts);
  // A session that breaks (the device went away) is the device's problem;
  // one silent for two minutes (a device that vanished without a FIN) is closed.
  artifacts.on('sessionError', () => undefined);
  artifacts.setTimeout(ARTIFACT_IDLE_MS);
  artifacts.on('timeout', (session: ServerHttp2Session) => session.destroy());
  const sockets = new Set<Socket>();
  const tls = createTlsServer({ cert: o.certPem, key: o.keyPem, ALPNProtocols: ['h2', ARTIFACT_ALPN] }, (socket: TLSSocket) => {
    if (socket.alpnProtocol === ARTIFACT_ALPN) artifacts.emit('connection', socket);
    else injector.injectConnection(socket);
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
          artifacts.close();
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}
