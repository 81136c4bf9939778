import * as grpc from '@grpc/grpc-js';
import { DeviceServiceClient } from '../proto/gen/fleet/v1/device';
import { certificateFingerprint, pemToDer, pinnedCertificateCheck } from '../proto/tls-fingerprint';

// How a device reaches its hub: TLS to exactly the certificate it was given
// (pinned by fingerprint, so the hub can be dialed by IP or any name), on its
// own HTTP/2 connection.

// One credentials object per trusted certificate: thousands of simulated
// devices then share one TLS context instead of each building its own.
const credentialsByPem = new Map<string, grpc.ChannelCredentials>();
const fingerprintByPem = new Map<string, string>();

/** SHA-256 fingerprint of the trusted hub certificate (computed once per PEM). */
export function hubFingerprint(caPem: string): string {
  let fingerprint = fingerprintByPem.get(caPem);
  if (!fingerprint) {
    const der = pemToDer(caPem);
    if (der.length === 0) throw new Error('the hub certificate is empty or not PEM');
    fingerprint = certificateFingerprint(der);
    fingerprintByPem.set(caPem, fingerprint);
  }
  return fingerprint;
}

export function deviceCredentials(caPem: string): grpc.ChannelCredentials {
  let creds = credentialsByPem.get(caPem);
  if (!creds) {
    const pinned = hubFingerprint(caPem);
    creds = grpc.credentials.createSsl(Buffer.from(caPem), null, null, {
      checkServerIdentity: pinnedCertificateCheck(pinned),
    });
    credentialsByPem.set(caPem, creds);
  }
  return creds;
}

const KEEPALIVE_TIME_MS = 20_000;
const KEEPALIVE_TIMEOUT_MS = 10_000;

export function createDeviceClient(hub: string, caPem: string): DeviceServiceClient {
  return new DeviceServiceClient(hub, deviceCredentials(caPem), {
    // The hub certificate names 'fleet-hub'; the pin above is the real check.
    'grpc.ssl_target_name_override': 'fleet-hub',
    // Without this, clients with the same target and options share one
    // HTTP/2 connection: simulated devices must each have their own.
    'grpc.use_local_subchannel_pool': 1,
    // Retries are the agent's business (it knows the reason); grpc's
    // transparent retry buffers would only cost memory per device.
    'grpc.enable_retries': 0,
    'grpc.enable_channelz': 0,
    // A connection that dies without a FIN or RST reaching us (a NAT or a
    // proxy dropping it, a socket closed under a busy HTTP/2 session) would
    // otherwise leave the control stream and a download waiting forever:
    // a ping unanswered for 10 s ends every call on it with UNAVAILABLE.
    // Only sent while calls are open (the control stream always is).
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  });
}

/** Metadata with the device token. */
export function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/** Metadata of a dialled-back DeviceService.Channel call: the device token and the hub's channel id. */
export function channelMetadata(token: string, channelId: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'fleet-channel-id': channelId };
}

/** A gRPC error as one line for the log: code name and details. */
export function describeError(err: unknown): string {
  const e = err as Partial<grpc.ServiceError>;
  // grpc appends an empty "Resolution note: " to connection errors: noise.
  if (typeof e?.code === 'number') return `${grpc.status[e.code] ?? e.code}: ${(e.details || e.message || '').replace(/\.? Resolution note: $/, '')}`;
  return (err as Error)?.message ?? String(err);
}
