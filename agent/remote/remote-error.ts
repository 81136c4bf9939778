// Every refusal of a remote session carries one of these codes, so the hub and
// the console can show a precise message (and tests can assert the reason)
// without parsing text. Codes travel in the `error` channel frame.

export type RemoteErrorCode =
  /** The feature is off in the device's config. */
  | 'disabled'
  /** A session limit (total or per operator) is reached. */
  | 'too-many-sessions'
  /** The config cannot be honoured on this device (e.g. unknown shell user). */
  | 'misconfigured'
  /** File transfer: the path is not inside an allowed root (incl. `..` and symlink escapes). */
  | 'outside-roots'
  /** File transfer: a device file, FIFO, socket or folder where a regular file is needed. */
  | 'not-regular'
  /** File transfer: over maxFileBytes (or more bytes than announced). */
  | 'too-large'
  | 'not-found'
  | 'permission'
  /** File transfer: the received bytes do not hash to the sender's sha256. */
  | 'checksum-mismatch'
  /** File transfer: another upload to the same file is in progress. */
  | 'busy'
  /** File transfer: the file system has less free space than the upload needs. */
  | 'no-space'
  /** Port forward: host:port is not in the allow list. */
  | 'not-allowed'
  /** Port forward: the TCP connection to the target failed. */
  | 'connect-failed'
  /** The other side broke the channel protocol (e.g. sent past its window). */
  | 'protocol'
  /** Anything else (I/O errors); the message says what. */
  | 'internal';

export class RemoteError extends Error {
  constructor(
    readonly code: RemoteErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** Maps a Node fs error to a RemoteError, naming the operation and the path. */
export function fsError(err: unknown, what: string): RemoteError {
  if (err instanceof RemoteError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new RemoteError('not-found', `${what}: no such file or folder`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new RemoteError('permission', `${what}: permission denied (${code})`);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new RemoteError('no-space', `${what}: no space left on the device (${code})`);
  if (code === 'EISDIR') return new RemoteError('not-regular', `${what}: is a folder, not a regular file`);
  return new RemoteError('internal', `${what}: ${(err as Error).message ?? String(err)}`);
}
