// Expected failures carry the exit code scripts branch on; fleetctl prints
// them as one line (`fleetctl: <what failed>: <why>`), never a stack trace.

export const EXIT = {
  ok: 0,
  /** the operation failed (unknown device, hub refused the request) */
  failed: 1,
  /** bad command line or local input (flags, files, config) */
  usage: 2,
  /** hub unreachable, not trusted, or the token/role was refused */
  hub: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}
