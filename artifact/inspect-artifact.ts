// inspectArtifact: reads only the version, manifest and signature entries of
// an artifact file, to show what it claims. The manifest is parsed whether
// or not its signature is trusted, so the result says which it is.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { readEntryHeader, readSmallEntry, readSmallEntryBody } from './artifact-tar';
import { ByteReader } from './byte-reader';
import { ArtifactError } from './errors';
import { MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, MAX_VERSION_BYTES, MANIFEST_ENTRY, SIGNATURE_ENTRY, VERSION_BYTES, VERSION_ENTRY } from './format';
import type { PublicKeyInput } from './keys';
import { parseManifest, type Manifest } from './manifest';
import { parseSignature, trustedKeySet, verifyManifestSignature, type ManifestSignature } from './signature';

export type SignatureStatus = 'trusted' | 'untrusted-key' | 'bad-signature' | 'unsigned' | 'not-checked';

export interface ArtifactInspection {
  /** UNVERIFIED unless signatureStatus is 'trusted'; payload hashes are not checked here. */
  manifest: Manifest;
  signature: ManifestSignature | null;
  signatureStatus: SignatureStatus;
  /** Why the signature is not trusted, when it is not. */
  signatureProblem: string | null;
  fileSize: number;
}

export async function inspectArtifact(file: string, opts: { trustedKeys?: readonly PublicKeyInput[] } = {}): Promise<ArtifactInspection> {
  const fileSize = (await stat(file)).size;
  const reader = new ByteReader(createReadStream(file, { highWaterMark: 64 * 1024 }));
  try {
    const version = await readSmallEntry(reader, VERSION_ENTRY, MAX_VERSION_BYTES);
    if (!version.equals(VERSION_BYTES)) throw new ArtifactError('malformed', `${file}: not a version 1 fleet artifact`);
    const manifestBytes = await readSmallEntry(reader, MANIFEST_ENTRY, MAX_MANIFEST_BYTES);
    const next = await readEntryHeader(reader, `${SIGNATURE_ENTRY} or the first payload`);
    const signature = next?.name === SIGNATURE_ENTRY ? parseSignature(await readSmallEntryBody(reader, next, SIGNATURE_ENTRY, MAX_SIGNATURE_BYTES)) : null;
    const manifest = parseManifest(manifestBytes);
    let signatureStatus: SignatureStatus = signature ? 'not-checked' : 'unsigned';
    let signatureProblem: string | null = signature ? null : 'artifact has no manifest.sig';
    if (signature && opts.trustedKeys) {
      try {
        verifyManifestSignature(manifestBytes, signature, trustedKeySet(opts.trustedKeys));
        signatureStatus = 'trusted';
      } catch (err) {
        if (!(err instanceof ArtifactError)) throw err;
        signatureStatus = err.code === 'untrusted-key' ? 'untrusted-key' : 'bad-signature';
        signatureProblem = err.message;
      }
    }
    return { manifest, signature, signatureStatus, signatureProblem, fileSize };
  } finally {
    await reader.close();
  }
}
