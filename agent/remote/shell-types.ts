// What the shell manager, pty sessions and command sessions share.

export const DEFAULT_COLS = 80;
export const DEFAULT_ROWS = 24;
/** After SIGHUP, how long the session's processes get before SIGKILL. */
export const KILL_GRACE_MS = 2000;

export interface ShellRequest {
  /** Who opens it (the hub's operator name): per-operator limits and the session bar. */
  operator: string;
  cols?: number;
  rows?: number;
  /**
   * Run this command line with the shell's `-c` instead of an interactive
   * shell: no pty, stdin/stdout/stderr piped byte for byte, and the exit
   * frame carries its status (`fleetctl shell DEVICE -- COMMAND`).
   */
  command?: string;
}

export interface ShellExit {
  code: number;
  signal?: string;
  /** Why the session ended: 'exit', the operator's close reason, or 'idle timeout'. */
  reason: string;
}

export interface ShellSessionInfo {
  id: string;
  operator: string;
  user: string;
  pid: number;
  startedAt: Date;
  /** The command of a command session; absent for an interactive shell. */
  command?: string;
}

export interface ShellOptions {
  windowBytes?: number;
  env?: NodeJS.ProcessEnv;
}

/** An open pty or command session. */
export interface RunningShell {
  readonly info: ShellSessionInfo;
  /** Resolves once the process has exited and the channel is closed. */
  readonly exited: Promise<ShellExit>;
  /** Output held for lack of credit (bounded by one read of the pty/pipes). */
  readonly heldOutputBytes: number;
  close(reason: string): void;
}
