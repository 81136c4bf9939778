import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, EXIT } from '../cli-error';
import { HubUnreachableError } from '../hub-session';
import { RefusalError } from './refusal';

// A copy cut by the network goes on by itself: the same transfer is tried
// again after 1, 2, 4, 8, 15 s (five times by default, about half a minute
// in all: long enough for a device or a hub to come back), and each try
// resumes where the last one stopped (the device keeps an upload's bytes,
// fleetctl a download's). Only cuts are tried again — a refusal (outside
// the roots, too large, no space, a bad sha256...) or Ctrl-C ends the copy
// at once.

/** Thrown when a transfer was cancelled (Ctrl-C). */
export class TransferCancelled extends CliError {
  constructor(what: string, kept = 'nothing was kept') {
    super(`${what} cancelled; ${kept}`, EXIT.failed);
  }
}

/** The network cut a transfer (no refusal): trying again resumes it. */
export class TransferCut extends CliError {
  constructor(message: string) {
    super(message, EXIT.failed);
  }
}

export const DEFAULT_RETRIES = 5;
const MAX_WAIT_SECONDS = 15;
/** The hub or the device was away, or did not answer in time: worth another try. */
const CUT_CODES = new Set(['hub-unavailable', 'device-offline', 'timeout']);

export function isCut(err: unknown): boolean {
  return err instanceof TransferCut || err instanceof HubUnreachableError || (err instanceof RefusalError && CUT_CODES.has(err.code));
}

export interface ResumeOptions {
  /** tries after the first (default 5; 0: none) */
  retries?: number;
  signal?: AbortSignal;
  /** Before each wait: what cut the last try, which try comes next, and when. */
  onResume?: (why: string, nextTry: number, tries: number, waitSeconds: number) => void;
}

/**
 * Runs `attempt`, and again after each cut, up to `retries` more times.
 * Ctrl-C while waiting throws what `cancelled` gives (the caller knows what is left where).
 */
export async function withResumes<T>(attempt: () => Promise<T>, opts: ResumeOptions, cancelled: () => Promise<Error>): Promise<T> {
  const retries = opts.retries ?? DEFAULT_RETRIES;
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (err) {
      if (tried > retries || opts.signal?.aborted || !isCut(err)) throw err;
      const wait = Math.min(MAX_WAIT_SECONDS, 2 ** (tried - 1));
      opts.onResume?.((err as Error).message, tried + 1, retries + 1, wait);
      const aborted = await sleep(wait * 1000, false, { signal: opts.signal }).catch(() => true);
      if (aborted) throw await cancelled();
    }
  }
}
