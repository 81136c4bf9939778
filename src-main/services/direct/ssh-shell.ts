import type { ClientChannel } from 'ssh2';
import { DirectError } from './direct-error';
import type { SshConnection } from './ssh-connection';

export interface ShellOptions {
  cols: number;
  rows: number;
  /** TERM for the pty (default xterm-256color, what xterm.js emulates) */
  term?: string;
  /** environment to pass (servers accept only what their AcceptEnv lists) */
  env?: Record<string, string>;
}

/** How a shell or command ended: exit code, or the signal that killed it; both null when the connection dropped first. */
export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

function checkSize(cols: number, rows: number): void {
  for (const [name, v] of [['cols', cols], ['rows', rows]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 10_000) throw new DirectError('invalid-target', `terminal ${name} must be a whole number from 1 to 10000, not ${v}`);
  }
}

/** Tracks a channel's exit-status/exit-signal and resolves when the channel closes (after its last output). */
function exitOf(channel: ClientChannel): Promise<ExitStatus> {
  const status: ExitStatus = { code: null, signal: null };
  channel.on('exit', (code: number | null, signal?: string) => {
    status.code = typeof code === 'number' ? code : null;
    status.signal = signal ?? null;
  });
  return new Promise((resolve) => channel.once('close', () => resolve(status)));
}

// An interactive login shell on a pty. Output is delivered in order to the
// data listeners; a consumer that cannot keep up calls pause(), which stops
// reading the channel, so the SSH window closes and the device's sshd stops
// sending (backpressure all the way to the program printing).
export class SshShell {
  /** resolves when the shell has ended and its last output was delivered */
  readonly exited: Promise<ExitStatus>;

  private constructor(private readonly channel: ClientChannel) {
    this.exited = exitOf(channel);
    // Errors also close the channel; `exited` reports the end.
    channel.on('error', () => {});
  }

  static async open(conn: SshConnection, options: ShellOptions): Promise<SshShell> {
    checkSize(options.cols, options.rows);
    conn.assertOpen('open a shell');
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      conn.client.shell(
        { term: options.term ?? 'xterm-256color', cols: options.cols, rows: options.rows, width: 0, height: 0 },
        { env: options.env },
        (err, ch) => (err ? reject(conn.channelError('a shell', err)) : resolve(ch)),
      ),
    );
    const shell = new SshShell(channel);
    // ssh2 reports a channel closed only after its output was read to the
    // end: a paused shell would never report its exit when the device goes.
    const unwatch = conn.onClose(() => shell.resume());
    void shell.exited.then(unwatch);
    return shell;
  }

  /** Adds an output listener; returns its remover. */
  onData(listener: (chunk: Buffer) => void): () => void {
    // A pty merges stderr into its output, but a server may still send some on the stderr stream.
    this.channel.on('data', listener);
    this.channel.stderr.on('data', listener);
    return () => {
      this.channel.off('data', listener);
      this.channel.stderr.off('data', listener);
    };
  }

  /** Sends keystrokes; false means the SSH window is full (wait for 'drain' via `whenWritable`). */
  write(data: string | Buffer): boolean {
    return this.channel.write(data);
  }

  whenWritable(): Promise<void> {
    return new Promise((r) => (this.channel.writableNeedDrain ? this.channel.once('drain', () => r()) : r()));
  }

  resize(cols: number, rows: number): void {
    checkSize(cols, rows);
    this.channel.setWindow(rows, cols, 0, 0);
  }

  pause(): void {
    this.channel.pause();
    this.channel.stderr.pause();
  }

  resume(): void {
    this.channel.resume();
    this.channel.stderr.resume();
  }

  /** Ends the session (the device's shell gets a hangup); output still buffered is delivered, then `exited` resolves. */
  close(): void {
    this.resume();
    this.channel.close();
  }
}

export interface ExecOptions {
  /** written to the command's stdin, then stdin is closed (otherwise stdin is closed at once) */
  stdin?: string | Buffer;
  /** the command is abandoned (channel closed) after this long; default 60 s */
  timeoutMs?: number;
  /** output beyond this many bytes per stream is dropped (`truncated` set); default 16 MiB */
  maxOutputBytes?: number;
}

export interface ExecResult extends ExitStatus {
  stdout: Buffer;
  stderr: Buffer;
  truncated: boolean;
}

/** Runs one command (no pty) and collects its exit status and output. A non-zero exit is a result, not an error. */
export async function exec(conn: SshConnection, command: string, options: ExecOptions = {}): Promise<ExecResult> {
  conn.assertOpen(`run \`${command}\``);
  const max = options.maxOutputBytes ?? 16 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const channel = await new Promise<ClientChannel>((resolve, reject) =>
    conn.client.exec(command, (err, ch) => (err ? reject(conn.channelError(`a command channel for \`${command}\``, err)) : resolve(ch))),
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const size = { out: 0, err: 0 };
  let truncated = false;
  const collect = (into: Buffer[], which: 'out' | 'err') => (d: Buffer) => {
    if (size[which] + d.length > max) {
      truncated = true;
      d = d.subarray(0, Math.max(0, max - size[which]));
    }
    size[which] += d.length;
    if (d.length) into.push(d);
  };
  channel.on('data', collect(out, 'out'));
  channel.stderr.on('data', collect(err, 'err'));
  channel.on('error', () => {});
  const exited = exitOf(channel);
  channel.end(options.stdin);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    channel.close();
  }, timeoutMs);
  const status = await exited.finally(() => clearTimeout(timer));
  if (timedOut) throw new DirectError('timeout', `\`${command}\` on device ${conn.target.deviceId} did not finish within ${Math.round(timeoutMs / 1000)} s; it was abandoned`);
  if (status.code === null && status.signal === null && conn.closed) {
    throw new DirectError('connection-closed', `the SSH connection to device ${conn.target.deviceId} closed while \`${command}\` ran`);
  }
  return { ...status, stdout: Buffer.concat(out), stderr: Buffer.concat(err), truncated };
}

/** Quotes one argument for a POSIX shell command line: 'it'\''s'. */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
