// readArtifact: the one way to take bytes out of an artifact. Order of
// checks: version bytes, manifest size limit, signature against trusted keys
// (on the raw manifest bytes), only then the manifest is parsed; each payload
// is hashed while it streams; nothing may follow the end-of-archive marker.
import type { Readable } from 'node:stream';
import { readEntryHeader, readSmallEntry, readSmallEntryBody } from './artifact-tar';
import { ByteReader, type ByteSource } from './byte-reader';
import { ArtifactError } from './errors';
import { FORMAT_ID, MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, MAX_VERSION_BYTES, MANIFEST_ENTRY, SIGNATURE_ENTRY, VERSION_BYTES, VERSION_ENTRY } from './format';
import type { PublicKeyInput } from './keys';
import { parseManifest, type Manifest } from './manifest';
import { readPayload, type PayloadConsumer } from './read-payload';
import { parseSignature, trustedKeySet, verifyManifestSignature, type ManifestSignature, type TrustedKeys } from './signature';

export interface ReadArtifactOptions {
  /** Public keys (SPKI PEM or KeyObject) whose signatures are accepted. */
  trustedKeys: readonly PublicKeyInput[] | TrustedKeys;
  /** Called once the signed manifest is known, before any payload byte is read; throw to stop (e.g. incompatible). */
  onManifest?: (manifest: Manifest, keyId: string) => void | Promise<void>;
  /**
   * Called for each payload in order with a stream of its uncompressed bytes.
   * The stream ends only when the payload's size and sha256 matched; on any
   * mismatch it errors instead, and readArtifact rejects. Consume the stream
   * before the returned promise settles, or not at all (the rest is drained).
   * Activate nothing before readArtifact itself resolves.
   */
  onPayload?: PayloadConsumer;
}

export interface ReadArtifactResult {
  manifest: Manifest;
  keyId: string;
  /** Total bytes of the artifact. */
  size: number;
}

export interface ArtifactContents {
  manifest: Manifest;
  manifestBytes: Buffer;
  signature: ManifestSignature | null;
  /** Stream offset of the first payload's tar header. */
  payloadsOffset: number;
  size: number;
}

interface CoreOptions {
  /** null for re-signing and verifyArtifactIntegrity: structure and hashes, not the signature. */
  trusted: TrustedKeys | null;
  onManifest?: (manifest: Manifest, keyId: string | null) => void | Promise<void>;
  onPayload?: PayloadConsumer;
}

function checkVersion(bytes: Buffer): void {
  if (bytes.equals(VERSION_BYTES)) return;
  let parsed: { format?: unknown; version?: unknown } | null = null;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    // not JSON: reported as malformed below
  }
  if (parsed && parsed.format === FORMAT_ID && parsed.version !== 1 && typeof parsed.version === 'number') {
    throw new ArtifactError('unsupported-version', `artifact format version ${parsed.version} is not supported (this reader knows version 1)`);
  }
  throw new ArtifactError('malformed', `the version entry is not ${VERSION_BYTES.toString().trim()}`);
}

/** Header entries, signature check, payloads, end marker. Shared by readArtifact and re-signing. */
export async function readArtifactCore(input: ByteSource, opts: CoreOptions): Promise<ArtifactContents> {
  const reader = new ByteReader(input);
  try {
    checkVersion(await readSmallEntry(reader, VERSION_ENTRY, MAX_VERSION_BYTES));
    const manifestBytes = await readSmallEntry(reader, MANIFEST_ENTRY, MAX_MANIFEST_BYTES);

    let next = await readEntryHeader(reader, `${SIGNATURE_ENTRY} or the first payload`);
    let signature: ManifestSignature | null = null;
    if (next?.name === SIGNATURE_ENTRY) {
      signature = parseSignature(await readSmallEntryBody(reader, next, SIGNATURE_ENTRY, MAX_SIGNATURE_BYTES));
      next = null;
    }
    let keyId: string | null = null;
    if (opts.trusted) {
      if (!signature) throw new ArtifactError('unsigned', 'artifact has no manifest.sig; sign it with `fleet-artifact sign --key K.key`');
      keyId = verifyManifestSignature(manifestBytes, signature, opts.trusted);
    }
    const manifest = parseManifest(manifestBytes);
    await opts.onManifest?.(manifest, keyId);

    const payloadsOffset = next?.offset ?? reader.offset;
    for (const payload of manifest.payloads) {
      const h = next ?? (await readEntryHeader(reader, payload.file));
      next = null;
      if (h === null) throw new ArtifactError('missing-entry', `archive ends before ${payload.file} (payload ${payload.index} of ${manifest.payloads.length})`);
      if (h.name !== payload.file) throw new ArtifactError('unexpected-entry', `expected ${payload.file}, found ${JSON.stringify(h.name)}`);
      if (h.size !== payload.storedSize) {
        throw new ArtifactError('payload-size-mismatch', `${payload.file} holds ${h.size} bytes; the manifest states ${payload.storedSize}`);
      }
      await readPayload(reader, payload, manifest, opts.onPayload);
    }
    const after = await readEntryHeader(reader, 'the end-of-archive marker');
    if (after !== null) throw new ArtifactError('unexpected-entry', `entry ${JSON.stringify(after.name)} after the last payload`);
    const size = reader.offset;
    if (!(await reader.atEnd())) throw new ArtifactError('trailing-data', `bytes after the end-of-archive marker at byte ${size}`);
    return { manifest, manifestBytes, signature, payloadsOffset, size };
  } finally {
    await reader.close();
  }
}

export async function readArtifact(input: Readable | ByteSource, opts: ReadArtifactOptions): Promise<ReadArtifactResult> {
  const trusted = opts.trustedKeys instanceof Map ? (opts.trustedKeys as TrustedKeys) : trustedKeySet(opts.trustedKeys as readonly PublicKeyInput[]);
  let keyId = '';
  const contents = await readArtifactCore(input, {
    trusted,
    onManifest: (manifest, id) => {
      keyId = id!;
      return opts.onManifest?.(manifest, keyId);
    },
    onPayload: opts.onPayload,
  });
  return { manifest: contents.manifest, keyId, size: contents.size };
}

/**
 * Checks everything but trust: structure, every payload's size and both
 * hashes, the end marker. For storage that records the signature status on
 * its own (the hub keeps artifacts signed by keys it does not know, which
 * devices refuse later). Nothing read this way may be installed.
 */
export async function verifyArtifactIntegrity(input: ByteSource): Promise<{ manifest: Manifest; signature: ManifestSignature | null }> {
  const contents = await readArtifactCore(input, { trusted: null });
  return { manifest: contents.manifest, signature: contents.signature };
}
