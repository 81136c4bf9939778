// Receives the UploadArtifact client stream into a temp file while hashing
// it. Backpressure: the call is paused while the file write buffer is full.
// Resolves only when exactly the declared number of bytes arrived and the
// file is closed; on any failure (bad message, size mismatch, cancelled or
// dropped stream) the temp file is deleted before the promise rejects.
import { status, type ServerReadableStream } from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { UploadArtifactHeader, UploadArtifactRequest, UploadArtifactResponse } from '../../proto/gen/fleet/v1/console';
import { RpcError } from '../rpc-error';

export const MAX_CHUNK_BYTES = 256 * 1024;

export type UploadCall = ServerReadableStream<UploadArtifactRequest, UploadArtifactResponse>;

export interface ReceivedUpload {
  header: UploadArtifactHeader;
  tmpFile: string;
  /** sha256 hex of everything received. */
  sha256: string;
}

export async function receiveUpload(call: UploadCall, tmpDir: string): Promise<ReceivedUpload> {
  const tmpFile = join(tmpDir, `${randomBytes(12).toString('hex')}.part`);
  const out = createWriteStream(tmpFile, { mode: 0o600 });
  const hash = createHash('sha256');
  let header: UploadArtifactHeader | undefined;
  let received = 0;

  const receiving = new Promise<UploadArtifactHeader>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      call.removeListener('data', onData);
      reject(err);
    };
    const onData = (msg: UploadArtifactRequest): void => {
      if (settled) return;
      const part = msg.part;
      if (!header) {
        if (part?.$case !== 'header') return fail(new RpcError(status.INVALID_ARGUMENT, 'the first UploadArtifact message must be the header (size, file_name)'));
        if (!Number.isSafeInteger(part.header.size) || part.header.size <= 0) {
          return fail(new RpcError(status.INVALID_ARGUMENT, `header.size must be the artifact's byte count (> 0), got ${part.header.size}`));
        }
        header = part.header;
        return;
      }
      if (part?.$case !== 'chunk') return fail(new RpcError(status.INVALID_ARGUMENT, 'after the header only chunk messages may follow'));
      const chunk = part.chunk;
      if (chunk.length > MAX_CHUNK_BYTES) return fail(new RpcError(status.INVALID_ARGUMENT, `chunk of ${chunk.length} bytes is over the ${MAX_CHUNK_BYTES}-byte limit`));
      received += chunk.length;
      if (received > header.size) return fail(new RpcError(status.INVALID_ARGUMENT, `upload is longer than its header says: more than ${header.size} bytes`));
      hash.update(chunk);
      if (!out.write(chunk)) {
        call.pause();
        out.once('drain', () => call.resume());
      }
    };
    call.on('data', onData);
    call.once('end', () => {
      if (!header) return fail(new RpcError(status.INVALID_ARGUMENT, 'the upload ended before its header'));
      if (received !== header.size) return fail(new RpcError(status.INVALID_ARGUMENT, `upload truncated: got ${received} of ${header.size} bytes`));
      settled = true;
      resolve(header);
    });
    call.once('cancelled', () => fail(new RpcError(status.CANCELLED, 'the client cancelled the upload')));
    call.once('error', (err: Error) => fail(err));
    out.once('error', (err) => fail(new Error(`cannot write the upload to ${tmpFile}: ${err.message}`)));
  });

  try {
    const done = await receiving;
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(resolve);
    });
    return { header: done, tmpFile, sha256: hash.digest('hex') };
  } catch (err) {
    out.destroy();
    await new Promise<void>((resolve) => (out.closed ? resolve() : out.once('close', () => resolve())));
    await rm(tmpFile, { force: true });
    throw err;
  }
}
