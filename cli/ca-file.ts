import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { certificateFingerprint } from '../proto/tls-fingerprint';
import { UsageError } from './cli-error';

export interface TrustedCertificate {
  /** PEM of the first certificate in the file */
  pem: string;
  fingerprint: string;
}

/** Reads the hub's certificate (DATA/hub.crt) that --ca / FLEET_CA name. */
export function readCaFile(file: string): TrustedCertificate {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read hub certificate ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}: pass the hub's DATA/hub.crt`);
  }
  return parseCertificatePem(text, file);
}

export function parseCertificatePem(text: string, from: string): TrustedCertificate {
  const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
  let cert: X509Certificate | undefined;
  try {
    if (block) cert = new X509Certificate(block[0]);
  } catch {
    cert = undefined;
  }
  if (!cert) throw new UsageError(`${from} is not a PEM certificate: pass the hub's DATA/hub.crt`);
  return { pem: `${block![0]}\n`, fingerprint: certificateFingerprint(cert.raw) };
}
