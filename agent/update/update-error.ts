import type { FinalStatus } from './update-state';

// A failure whose final status and message are already known (not a bug):
// the engine reports it as is.
export class UpdateError extends Error {
  constructor(
    message: string,
    readonly status: FinalStatus = 'failure',
  ) {
    super(message);
    this.name = 'UpdateError';
  }
}

/** The message of anything thrown, for reports. */
export function reasonOf(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}
