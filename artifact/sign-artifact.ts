// Re-signing an artifact file: replaces (or adds) manifest.sig. The input is
// read whole first, checking its structure and every payload hash against
// the manifest (the old signature is not checked: re-signing is how a new
// key takes over), so a tampered artifact is never blessed. Then the header
// entries are rewritten and the payload region copied byte for byte.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readArtifactCore } from './read-artifact';
import { MANIFEST_ENTRY, SIGNATURE_ENTRY, VERSION_BYTES, VERSION_ENTRY } from './format';
import type { PrivateKeyInput } from './keys';
import type { Manifest } from './manifest';
import { serializeSignature, signManifest, type ManifestSignature } from './signature';
import { headerEntry } from './write-artifact';

export async function signArtifactFile(inFile: string, outFile: string, key: PrivateKeyInput): Promise<{ manifest: Manifest; signature: ManifestSignature }> {
  const contents = await readArtifactCore(createReadStream(inFile, { highWaterMark: 1024 * 1024 }), { trusted: null });
  const signature = signManifest(contents.manifestBytes, key);
  const partial = `${outFile}.partial-${process.pid}`;
  try {
    async function* chunks(): AsyncGenerator<Buffer> {
      yield* headerEntry(VERSION_ENTRY, VERSION_BYTES);
      yield* headerEntry(MANIFEST_ENTRY, contents.manifestBytes);
      yield* headerEntry(SIGNATURE_ENTRY, serializeSignature(signature));
      yield* createReadStream(inFile, { start: contents.payloadsOffset, highWaterMark: 1024 * 1024 });
    }
    await pipeline(Readable.from(chunks()), createWriteStream(partial, { mode: 0o644 }));
    await rename(partial, outFile);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  return { manifest: contents.manifest, signature };
}
