// Streams one payload entry from the archive to its consumer: hashes the
// stored bytes, decompresses, and hands the consumer a PayloadVerifier that
// ends only when every check passed.
import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { readEntryPadding } from './artifact-tar';
import type { ByteReader } from './byte-reader';
import { createDecompressor } from './compression';
import { ArtifactError } from './errors';
import type { Manifest, PayloadInfo } from './manifest';
import { PayloadVerifier } from './payload-verifier';

export type PayloadConsumer = (payload: PayloadInfo, stream: Readable, manifest: Manifest) => void | Promise<void>;

const CHUNK = 1024 * 1024;

export async function readPayload(reader: ByteReader, payload: PayloadInfo, manifest: Manifest, consumer: PayloadConsumer | undefined): Promise<void> {
  const label = `payload ${payload.index} (${payload.file})`;
  const verifier = new PayloadVerifier(payload);
  const decompressor = payload.compression === 'none' ? null : createDecompressor(payload.compression);
  const target: Writable = decompressor ?? verifier;

  // Anything that must stop the pump wakes it up through `wake`.
  let failure: unknown = null;
  let decompressError: Error | null = null;
  let wake: () => void = () => {};
  const woken = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  const fail = (err: unknown): void => {
    failure ??= err;
    wake();
  };

  if (decompressor) {
    decompressor.on('error', (err) => {
      // A missing zstd program says nothing about the bytes: report it as is.
      if (err instanceof ArtifactError) return fail(err);
      decompressError ??= err;
      wake();
    });
    decompressor.pipe(verifier);
  }
  verifier.verified.catch(fail);

  const consumerDone = consumer ? Promise.resolve().then(() => consumer(payload, verifier, manifest)) : Promise.resolve();
  const consumerSettled = consumerDone.then(
    // What the consumer left unread is drained, so verification still finishes.
    () => verifier.resume(),
    (err) => fail(err ?? new Error(`the consumer of ${label} failed`)),
  );

  try {
    const stored = createHash('sha256');
    let remaining = payload.storedSize;
    while (remaining > 0) {
      if (failure) throw failure;
      const chunk = await reader.readUpTo(Math.min(remaining, CHUNK));
      if (chunk === null) throw new ArtifactError('truncated', `stream ends at byte ${reader.offset} inside ${label} (${remaining} more bytes expected)`);
      stored.update(chunk);
      remaining -= chunk.length;
      // After a decompression error the stored bytes are still hashed, to
      // tell tampering (hash mismatch) from a bad signed payload.
      if (!decompressError && !target.write(chunk)) {
        const wait = woken();
        const drained = (): void => wake();
        target.once('drain', drained).once('close', drained);
        await wait;
        target.off('drain', drained).off('close', drained);
      }
    }
    if (failure) throw failure;
    const digest = stored.digest('hex');
    if (digest !== payload.storedSha256) {
      throw new ArtifactError('payload-hash-mismatch', `${label}: sha256 of the stored bytes is ${digest}, the manifest states ${payload.storedSha256}`);
    }
    await readEntryPadding(reader, payload.storedSize, payload.file);
    if (decompressError) throw corrupt(label, decompressError);
    target.end();
    await new Promise<void>((resolve, reject) => {
      verifier.verified.then(resolve, reject);
      const check = (): void => {
        if (decompressError) reject(corrupt(label, decompressError));
        else if (failure) reject(failure);
        else woken().then(check);
      };
      check();
    });
    await consumerSettled;
    if (failure) throw failure;
  } catch (err) {
    decompressor?.destroy();
    verifier.destroy(err instanceof Error ? err : new Error(String(err)));
    await consumerSettled;
    throw err;
  }
}

function corrupt(label: string, cause: Error): ArtifactError {
  return new ArtifactError('payload-corrupt', `${label}: stored bytes match their signed hash but do not decompress (${cause.message})`);
}
