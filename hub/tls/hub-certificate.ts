import './reflect-metadata-shim';
import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { certificateFingerprint, pemToDer } from '../../proto/tls-fingerprint';
import { writeFileAtomic, type HubPaths } from '../data-dir';

// Loaded once the shim above has run: a static import would be hoisted
// before it when the hub is bundled (npm run build:bins), and tsyringe
// would refuse to load.
const x509 = await import('@peculiar/x509');

export interface HubCertificate {
  certPem: string;
  keyPem: string;
  fingerprint: string;
}

const VALIDITY_YEARS = 20;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * The hub's TLS identity. Made once and kept: devices and consoles pin this
 * certificate, so a new one would cut every one of them off.
 */
export async function loadOrCreateHubCertificate(paths: HubPaths, hubId: string, log: (line: string) => void): Promise<HubCertificate> {
  const hasKey = existsSync(paths.key);
  const hasCert = existsSync(paths.cert);
  if (hasKey !== hasCert) {
    const [present, missing] = hasKey ? [paths.key, paths.cert] : [paths.cert, paths.key];
    throw new Error(`${present} exists but ${missing} is missing: restore it, or delete both to make a new hub identity (devices and consoles will have to trust it again)`);
  }
  if (hasKey) {
    const certPem = readFileSync(paths.cert, 'utf8');
    return { certPem, keyPem: readFileSync(paths.key, 'utf8'), fingerprint: certificateFingerprint(pemToDer(certPem)) };
  }

  const created = await createSelfSigned(hubId);
  writeFileAtomic(paths.key, created.keyPem, 0o600);
  writeFileAtomic(paths.cert, created.certPem, 0o644);
  log(`created TLS certificate ${paths.cert} (SHA-256 ${created.fingerprint})`);
  return created;
}

async function createSelfSigned(hubId: string): Promise<HubCertificate> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // a positive serial number
  const now = Date.now();
  const names = [...new Set(['localhost', 'fleet-hub', hostname()].filter(Boolean))];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=fleet-hub ${hubId}`,
    notBefore: new Date(now - 60 * 60_000),
    notAfter: new Date(now + VALIDITY_YEARS * 365 * 24 * 60 * 60_000),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      // Self-signed and trusted directly (pinned), like `openssl req -x509`.
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  const certPem = cert.toString('pem') + '\n';
  return { certPem, keyPem, fingerprint: certificateFingerprint(Buffer.from(cert.rawData)) };
}
