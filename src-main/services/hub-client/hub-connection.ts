import * as grpc from '@grpc/grpc-js';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { ConsoleServiceClient } from '../../../proto/gen/fleet/v1/console';
import { certificateFingerprint, normalizeFingerprint, pemToDer, pinnedCertificateCheck } from '../../../proto/tls-fingerprint';

// How operators (console services, fleetctl, tests) reach a hub: TLS always,
// the hub trusted either by its certificate file (--ca, like kubectl) or by a
// pinned SHA-256 fingerprint (trust on first use in the console).

export interface HubTarget {
  /** host:port */
  hub: string;
  /** operator bearer token */
  token: string;
  /** PEM of the hub certificate to trust (self-signed: the cert itself) */
  caPem?: string;
  /** pinned fingerprint; when set, the certificate must match it exactly */
  fingerprint?: string;
}

export interface HubProbeResult {
  fingerprint: string;
  subject: string;
  pem: string;
}

export function splitHostPort(hub: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hub.trim());
  if (!m) throw new Error(`hub address must be HOST:PORT, got "${hub}"`);
  return { host: m[1], port: Number(m[2]) };
}

/** Opens TLS to the hub and reads its certificate without trusting it. */
export function probeHub(hub: string, timeoutMs = 5000): Promise<HubProbeResult> {
  const { host, port } = splitHostPort(hub);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'], servername: isIp(host) ? undefined : host });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`hub ${hub} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate(false) as PeerCertificate;
      socket.end();
      if (!cert?.raw) return reject(new Error(`hub ${hub} presented no certificate`));
      const pem = `-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
      resolve({ fingerprint: certificateFingerprint(cert.raw), subject: [cert.subject?.CN ?? ''].flat().join(', '), pem });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach hub ${hub}: ${err.message}`));
    });
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

export function hubCredentials(target: Pick<HubTarget, 'caPem' | 'fingerprint'>): grpc.ChannelCredentials {
  if (!target.caPem) throw new Error('no hub certificate to trust: pass --ca FILE (the hub writes DATA/hub.crt) or trust its fingerprint');
  const pinned = target.fingerprint ? normalizeFingerprint(target.fingerprint) : certificateFingerprint(pemToDer(target.caPem));
  return grpc.credentials.createSsl(Buffer.from(target.caPem), null, null, {
    checkServerIdentity: pinnedCertificateCheck(pinned),
  });
}

/** Per-call metadata carrying the operator token. */
export function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

export function createConsoleClient(target: HubTarget): ConsoleServiceClient {
  const { host, port } = splitHostPort(target.hub);
  return new ConsoleServiceClient(`${host.includes(':') ? `[${host}]` : host}:${port}`, hubCredentials(target), {
    'grpc.ssl_target_name_override': 'fleet-hub',
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });
}

/** Promisified unary call with the bearer token and a deadline. */
export function unary<Req, Res>(
  client: grpc.Client,
  method: (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall,
  req: Req,
  token: string,
  timeoutMs = 15_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, bearer(token), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(new HubCallError(err)) : resolve(res)));
  });
}

/** A hub error with the gRPC status kept and a message fit for people. */
export class HubCallError extends Error {
  readonly code: grpc.status;
  constructor(err: grpc.ServiceError) {
    super(describeHubError(err));
    this.code = err.code;
  }
}

export function describeHubError(err: grpc.ServiceError): string {
  switch (err.code) {
    case grpc.status.UNAVAILABLE:
      return `hub unreachable: ${err.details || err.message}`;
    case grpc.status.UNAUTHENTICATED:
      return `not authenticated: ${err.details || 'the token was refused'}`;
    case grpc.status.PERMISSION_DENIED:
      return `permission denied: ${err.details}`;
    case grpc.status.DEADLINE_EXCEEDED:
      return 'hub did not answer in time';
    default:
      return err.details || err.message;
  }
}
