import { UsageError } from '../cli-error';

// `fleetctl port-forward DEVICE [LOCAL:]REMOTE`, REMOTE = [HOST:]PORT:
//   80              any free local port -> 127.0.0.1:80 on the device side
//   8080:80         local 8080 -> 127.0.0.1:80
//   db:5432         any free local port -> db:5432
//   8080:db:5432    local 8080 -> db:5432
//   0:[::1]:9000    IPv6 hosts in brackets
// A leading all-digit part followed by more is the local port (0 = any free).

export interface ForwardSpec {
  /** 0 = any free port */
  localPort: number;
  host: string;
  port: number;
}

export function parseForwardSpec(text: string): ForwardSpec {
  const m = /^(?:(\d+):)?(?:(\[[^\]]+\]|[^:[\]]+):)?(\d+)$/.exec(text);
  if (!m) throw new UsageError(`"${text}" is not [LOCAL:]REMOTE: write e.g. 8080:80, 5432, db:5432 or 8080:[::1]:9000`);
  // "8080:80" matches LOCAL as group 1; "db:80" matches HOST as group 2; "8080:80" never reaches group 2.
  const localPort = m[1] === undefined ? 0 : port(m[1], 'local port', true);
  const host = m[2] === undefined ? '127.0.0.1' : m[2].replace(/^\[(.*)\]$/, '$1');
  return { localPort, host, port: port(m[3], 'remote port', false) };
}

function port(text: string, what: string, zeroOk: boolean): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n > 65535 || (n === 0 && !zeroOk)) throw new UsageError(`${what} must be 1-65535${zeroOk ? ' (or 0 for any free port)' : ''}, got ${text}`);
  return n;
}
