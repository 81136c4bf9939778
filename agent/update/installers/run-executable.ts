// Runs a device-side executable (an update module or a state hook): no shell,
// its own process group so a timeout or an abort kills everything it started,
// bounded output, and the last lines of stderr kept for the error message.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunOptions {
  cwd?: string;
  /** The whole environment of the child (callers add to process.env themselves). */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Each stderr line as it arrives (for the deployment log). */
  onStderrLine?(line: string): void;
}

export interface RunResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Up to MAX_STDOUT bytes of stdout. */
  stdout: string;
  /** The last STDERR_TAIL_LINES lines of stderr. */
  stderrTail: string[];
}

const MAX_STDOUT = 64 * 1024;
const STDERR_TAIL_LINES = 10;
const MAX_LINE = 1000;
/** Between SIGTERM and SIGKILL of a process group that overstayed. */
const KILL_GRACE_MS = 2000;
/** How long to wait for pipes a background grandchild keeps open after the executable exited. */
const PIPE_GRACE_MS = 200;

/** "exit 3", "signal SIGKILL", "timed out after 5 s". */
export function describeEnd(r: RunResult, timeoutMs: number): string {
  if (r.timedOut) return `timed out after ${timeoutMs / 1000} s and was killed`;
  if (r.code !== null) return `exit ${r.code}`;
  return `killed by ${r.signal ?? 'an unknown signal'}`;
}

/** "; stderr: a | b" or "" when stderr was empty. */
export function stderrSuffix(r: RunResult): string {
  return r.stderrTail.length ? `; stderr: ${r.stderrTail.join(' | ')}` : '';
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // The group is already gone.
  }
}

function runOnce(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new Error(`${file} not started: the agent is stopping`));
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const tail: string[] = [];
    let partial = '';
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;

    const line = (text: string): void => {
      const l = text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text;
      tail.push(l);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
      opts.onStderrLine?.(l);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_STDOUT) stdout += d.slice(0, MAX_STDOUT - stdout.length);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      for (const p of parts) line(p);
      if (partial.length > MAX_LINE) {
        line(partial);
        partial = '';
      }
    });

    const stop = (): void => {
      if (child.pid === undefined) return;
      killGroup(child.pid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    opts.signal?.addEventListener('abort', stop, { once: true });
    const done = (): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', stop);
    };

    child.once('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(err);
    });
    child.once('exit', (code, signal) => {
      done();
      // A background grandchild may hold the pipes open: do not wait for it.
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        if (partial) line(partial);
        partial = '';
        child.stdout.destroy();
        child.stderr.destroy();
        if (opts.signal?.aborted && !timedOut) return reject(new Error(`${file} ${args.join(' ')} was stopped: the agent is stopping`));
        resolve({ code, signal, timedOut, stdout, stderrTail: tail });
      };
      const grace = setTimeout(finish, PIPE_GRACE_MS);
      child.once('close', () => {
        clearTimeout(grace);
        finish();
      });
    });
  });
}

/**
 * Runs `file args...` and resolves however it ended (exit code, signal,
 * timeout); rejects only when it could not start (ENOENT, EACCES, ...) or
 * when `signal` aborted it. Retries a few times on ETXTBSY, which a file
 * still open for writing in a forked sibling process causes right after it
 * was written.
 */
export async function runExecutable(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await runOnce(file, args, opts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ETXTBSY' || attempt >= 5) throw err;
      await sleep(20 * (attempt + 1));
    }
  }
}
