import { createHash } from 'node:crypto';

// The one way every program prints and compares a certificate fingerprint:
// SHA-256 of the DER bytes, upper-case hex pairs joined by colons (as openssl
// x509 -fingerprint -sha256 shows it).
export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** Accepts the colon form or bare hex, any case. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  if (hex.length !== 64) throw new Error(`not a SHA-256 fingerprint: ${text}`);
  return hex.match(/../g)!.join(':');
}

export function pemToDer(pem: string): Buffer {
  const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}

/**
 * A TLS client's `checkServerIdentity` that accepts exactly the pinned
 * certificate: stronger than a host-name check, and it lets the hub be
 * dialled by any address it is reachable on (its certificate names
 * 'fleet-hub').
 */
export function pinnedCertificateCheck(pinned: string): (host: string, cert: { raw: Buffer }) => Error | undefined {
  return (_host, cert) => {
    const actual = certificateFingerprint(cert.raw);
    return actual === pinned ? undefined : new Error(`hub certificate ${actual} is not the trusted ${pinned}`);
  };
}
