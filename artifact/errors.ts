// One error class for every refusal, with a stable code callers can branch
// on (the hub maps codes to upload answers, the agent to deployment states)
// and a message that names the check that failed.

export type ArtifactErrorCode =
  | 'malformed' // bad tar header, bad JSON, a manifest field out of its rules
  | 'unsupported-version' // a format version this reader does not know
  | 'too-large' // an entry over its size limit (read before it is trusted)
  | 'unexpected-entry' // an extra, reordered or wrongly named entry
  | 'missing-entry' // the archive ends (cleanly) before an expected entry
  | 'trailing-data' // bytes after the end-of-archive marker
  | 'truncated' // the stream ends in the middle of the archive
  | 'unsigned' // no manifest.sig where a signature is required
  | 'untrusted-key' // signed, but by a key not among the trusted ones
  | 'bad-signature' // the signature does not match the manifest bytes
  | 'unknown-compression'
  | 'payload-size-mismatch'
  | 'payload-hash-mismatch'
  | 'payload-corrupt' // stored bytes match their signed hash but do not decompress
  | 'zstd-unavailable' // the zstd program is missing
  | 'incompatible' // device type or depends do not match the device
  | 'downgrade'; // older than what the device runs in the same group

export class ArtifactError extends Error {
  override readonly name = 'ArtifactError';
  constructor(
    readonly code: ArtifactErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isArtifactError(err: unknown, code?: ArtifactErrorCode): err is ArtifactError {
  return err instanceof ArtifactError && (code === undefined || err.code === code);
}
