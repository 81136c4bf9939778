import type { ChannelOpen } from '../../proto/gen/fleet/v1/channel';
import type { SessionKind } from '../store/store';

/** What a session is, as stored and audited. */
export interface SessionTopic {
  kind: SessionKind;
  /** The command, `op path` of a file operation, or `host:port`; '' for an interactive shell. */
  detail: string;
}

const FILE_OPS = new Set(['list', 'download', 'upload', 'mkdir', 'sha256']);
/** A recorded shell's terminal when the console names none (the agent's default too). */
export const DEFAULT_COLS = 80;
export const DEFAULT_ROWS = 24;

/**
 * Checks the shape of a console's open request; returns the session's topic,
 * or a message saying what is wrong. The device judges the rest (its config).
 */
export function describeOpen(open: ChannelOpen | undefined): SessionTopic | string {
  const kind = open?.kind;
  if (!kind) return 'start.open must name what to open: shell, file or port_forward';
  switch (kind.$case) {
    case 'shell':
      return kind.shell.command !== undefined ? { kind: 'command', detail: kind.shell.command } : { kind: 'shell', detail: '' };
    case 'file':
      if (!FILE_OPS.has(kind.file.op)) return `file.op must be list, download, upload, mkdir or sha256, got "${kind.file.op}"`;
      if (!kind.file.path) return 'file.path is empty: give an absolute path on the device';
      return { kind: 'file', detail: `${kind.file.op} ${kind.file.path}` };
    case 'portForward': {
      const { host, port } = kind.portForward;
      if (!host) return 'port_forward.host is empty: give the host to reach from the device (e.g. 127.0.0.1)';
      if (!Number.isInteger(port) || port < 1 || port > 65535) return `port_forward.port must be 1-65535, got ${port}`;
      return { kind: 'port-forward', detail: `${host.includes(':') ? `[${host}]` : host}:${port}` };
    }
  }
}

/** The open request as the device gets it: the shell's operator is the authenticated caller, whatever the console wrote. */
export function withOperator(open: ChannelOpen, operator: string): ChannelOpen {
  if (open.kind?.$case !== 'shell') return open;
  return { kind: { $case: 'shell', shell: { ...open.kind.shell, operator } } };
}
