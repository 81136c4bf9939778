/** What kind of failure a direct-mode (SSH) operation hit, so the UI can offer the right next step. */
export type DirectErrorCode =
  | 'invalid-target'
  | 'key-unreadable'
  | 'unreachable'
  | 'timeout'
  | 'auth-failed'
  | 'host-key-changed'
  | 'host-key-unverified'
  | 'connection-closed'
  | 'channel-refused'
  | 'remote-command'
  | 'not-found'
  | 'transfer-failed'
  | 'integrity'
  | 'cancelled'
  | 'tunnel-failed';

// One error type for everything under direct/: the message is written for the
// operator (what failed and what to do), the code is for the console to
// choose a button ("trust new key", "edit credentials", "retry").
export class DirectError extends Error {
  constructor(
    readonly code: DirectErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DirectError';
  }
}
