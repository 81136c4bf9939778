// Full verification of an uploaded artifact file: the signature status from
// the header (inspectArtifact), then one streaming pass over the whole file
// that checks structure, every payload's size and sha256 and the end marker.
// The hub stores artifacts signed by keys it does not know (and unsigned
// ones) with that status; devices refuse them later. A signature that does
// not match its manifest, or any broken byte, is refused outright.
import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ArtifactError, inspectArtifact, verifyArtifactIntegrity, type Manifest } from '../../artifact';
import type { ArtifactSignatureStatus } from '../store/store';

export interface VerifiedArtifact {
  manifest: Manifest;
  signatureStatus: ArtifactSignatureStatus;
  keyId: string;
}

/** Throws ArtifactError for anything the hub refuses. */
export async function verifyArtifactFile(file: string, trustedKeys: readonly KeyObject[]): Promise<VerifiedArtifact> {
  const inspection = await inspectArtifact(file, { trustedKeys });
  const status = inspection.signatureStatus;
  if (status === 'bad-signature') throw new ArtifactError('bad-signature', inspection.signatureProblem ?? 'the signature does not match the manifest');
  if (status !== 'trusted' && status !== 'untrusted-key' && status !== 'unsigned') {
    throw new Error(`unexpected signature status ${status} from inspectArtifact`);
  }
  const contents = await verifyArtifactIntegrity(createReadStream(file, { highWaterMark: 1024 * 1024 }));
  return { manifest: contents.manifest, signatureStatus: status, keyId: inspection.signature?.keyId ?? '' };
}

/** "rootfs-image (gzip)", several payloads joined by ", ". */
export function payloadSummary(manifest: Manifest): string {
  return manifest.payloads.map((p) => (p.compression === 'none' ? p.type : `${p.type} (${p.compression})`)).join(', ');
}
