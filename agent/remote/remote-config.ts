import { isAbsolute, normalize } from 'node:path';
import { isIP } from 'node:net';

// The `remote` section of the agent config: what remote troubleshooting a
// device allows. Everything is off unless enabled, like mender-connect.
// Limits that are absent mean "no limit" (Infinity), never a hidden default
// that silently truncates a transfer.

export interface ShellConfig {
  enabled: boolean;
  /** Program and arguments; absent = the shell user's login shell (or /bin/sh). */
  command?: string[];
  /** User the shell runs as; absent = the agent's own user. Needs the agent to run as root when different. */
  user?: string;
  maxSessions: number;
  maxSessionsPerOperator: number;
  /** A session with no frame from the operator's side for this long is ended. */
  idleTimeoutSeconds: number;
}

export interface FilesConfig {
  enabled: boolean;
  /** Absolute folders; every path must resolve (symlinks included) inside one of them. */
  roots: string[];
  /** Allow device files, FIFOs and sockets (default false: regular files only). */
  allowNonRegular: boolean;
  maxFileBytes: number;
  /** Per direction, shared by all transfers of the device. */
  bytesPerMinute: number;
  /** Owner and group of uploaded files (names or numeric ids); absent = the agent's. */
  uploadOwner?: string;
  uploadGroup?: string;
  /** Mode of uploaded files; absent = the sender's mode (permission bits only). */
  uploadMode?: number;
}

/** One allow-list entry: `HOST:PORT`, where HOST may be `*` and PORT may be `*`. */
export interface PortRule {
  /** Lower-case host name, an IP literal (IPv6 without brackets), or '*'. */
  host: string;
  /** 1..65535, or 0 for any port. */
  port: number;
  text: string;
}

export interface PortForwardConfig {
  enabled: boolean;
  allow: PortRule[];
}

export interface RemoteConfig {
  shell: ShellConfig;
  files: FilesConfig;
  portForward: PortForwardConfig;
}

export const DEFAULT_MAX_SESSIONS = 16;
export const DEFAULT_MAX_SESSIONS_PER_OPERATOR = 4;
/** mender-connect's default idle expiry. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 600;

type Obj = Record<string, unknown>;

/** Validates the `remote` section (undefined = everything disabled). Errors name the field and what to write. */
export function parseRemoteConfig(json: unknown, where = 'remote'): RemoteConfig {
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  const root = section(json, where, ['shell', 'files', 'portForward'], fail);
  return {
    shell: parseShell(root.shell, `${where}.shell`),
    files: parseFiles(root.files, `${where}.files`),
    portForward: parsePortForward(root.portForward, `${where}.portForward`),
  };
}

function section(json: unknown, where: string, known: string[], fail: (msg: string) => never): Obj {
  if (json === undefined) return {};
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(`must be an object like {${known.map((k) => `"${k}": ...`).join(', ')}}`);
  const obj = json as Obj;
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length) fail(`unknown field "${unknown[0]}" (known: ${known.join(', ')})`);
  return obj;
}

function failer(where: string): (msg: string) => never {
  return (msg) => {
    throw new Error(`${where}.${msg}`);
  };
}

function bool(v: unknown, field: string, dflt: boolean, fail: (m: string) => never): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') fail(`${field} must be true or false, got ${JSON.stringify(v)}`);
  return v as boolean;
}

function count(v: unknown, field: string, dflt: number, fail: (m: string) => never, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`${field} must be a whole number >= ${min}, got ${JSON.stringify(v)}`);
  return v as number;
}

function name(v: unknown, field: string, fail: (m: string) => never): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/.test(v)) fail(`${field} must be a user/group name or numeric id, got ${JSON.stringify(v)}`);
  return v as string;
}

function parseShell(json: unknown, where: string): ShellConfig {
  const s = section(json, where, ['enabled', 'command', 'user', 'maxSessions', 'maxSessionsPerOperator', 'idleTimeoutSeconds'], (m) => {
    throw new Error(`${where}: ${m}`);
  });
  const fail = failer(where);
  let command: string[] | undefined;
  if (s.command !== undefined) {
    const c = typeof s.command === 'string' ? [s.command] : s.command;
    if (!Array.isArray(c) || c.length === 0 || c.some((w) => typeof w !== 'string' || w === '')) fail(`command must be a program path or a list like ["/bin/bash", "-l"], got ${JSON.stringify(s.command)}`);
    if (!isAbsolute((c as string[])[0])) fail(`command must start with an absolute program path, got ${JSON.stringify((c as string[])[0])}`);
    command = [...(c as string[])];
  }
  const maxSessions = count(s.maxSessions, 'maxSessions', DEFAULT_MAX_SESSIONS, fail);
  const perOperator = count(s.maxSessionsPerOperator, 'maxSessionsPerOperator', Math.min(DEFAULT_MAX_SESSIONS_PER_OPERATOR, maxSessions), fail);
  if (perOperator > maxSessions) fail(`maxSessionsPerOperator (${perOperator}) cannot exceed maxSessions (${maxSessions})`);
  return {
    enabled: bool(s.enabled, 'enabled', false, fail),
    command,
    user: name(s.user, 'user', fail),
    maxSessions,
    maxSessionsPerOperator: perOperator,
    idleTimeoutSeconds: count(s.idleTimeoutSeconds, 'idleTimeoutSeconds', DEFAULT_IDLE_TIMEOUT_SECONDS, fail),
  };
}

function parseFiles(json: unknown, where: string): FilesConfig {
  const f = section(json, where, ['enabled', 'roots', 'allowNonRegular', 'maxFileBytes', 'bytesPerMinute', 'uploadOwner', 'uploadGroup', 'uploadMode'], (m) => {
    throw new Error(`${where}: ${m}`);
  });
  const fail = failer(where);
  const enabled = bool(f.enabled, 'enabled', false, fail);
  const roots = f.roots ?? [];
  if (!Array.isArray(roots) || roots.some((r) => typeof r !== 'string' || !isAbsolute(r))) fail(`roots must be a list of absolute folder paths like ["/var/log", "/data"], got ${JSON.stringify(f.roots)}`);
  if (enabled && (roots as string[]).length === 0) fail('roots must list at least one folder when file transfer is enabled (e.g. ["/data"])');
  let uploadMode: number | undefined;
  if (f.uploadMode !== undefined) {
    const m = f.uploadMode;
    const mode = typeof m === 'string' && /^0?[0-7]{3}$/.test(m) ? parseInt(m, 8) : typeof m === 'number' && Number.isInteger(m) && m >= 0 && m <= 0o777 ? m : undefined;
    if (mode === undefined) fail(`uploadMode must be an octal string like "0644" (permission bits only), got ${JSON.stringify(m)}`);
    uploadMode = mode;
  }
  return {
    enabled,
    roots: (roots as string[]).map((r) => (normalize(r).length > 1 ? normalize(r).replace(/\/$/, '') : '/')),
    allowNonRegular: bool(f.allowNonRegular, 'allowNonRegular', false, fail),
    maxFileBytes: count(f.maxFileBytes, 'maxFileBytes', Infinity, fail),
    bytesPerMinute: count(f.bytesPerMinute, 'bytesPerMinute', Infinity, fail),
    uploadOwner: name(f.uploadOwner, 'uploadOwner', fail),
    uploadGroup: name(f.uploadGroup, 'uploadGroup', fail),
    uploadMode,
  };
}

function parsePortForward(json: unknown, where: string): PortForwardConfig {
  const p = section(json, where, ['enabled', 'allow'], (m) => {
    throw new Error(`${where}: ${m}`);
  });
  const fail = failer(where);
  const allow = p.allow ?? [];
  if (!Array.isArray(allow)) fail(`allow must be a list like ["127.0.0.1:8080", "localhost:5432", "*:80"], got ${JSON.stringify(p.allow)}`);
  const enabled = bool(p.enabled, 'enabled', false, fail);
  if (enabled && (allow as unknown[]).length === 0) fail('allow must list at least one HOST:PORT when port forwarding is enabled');
  return { enabled, allow: (allow as unknown[]).map((r, i) => parsePortRule(r, `allow[${i}]`, fail)) };
}

/** Parses `HOST:PORT` (`[v6]:PORT`, `*` for any host or port). */
export function parsePortRule(text: unknown, field: string, fail: (m: string) => never): PortRule {
  const bad = (): never => fail(`${field} must be HOST:PORT like "127.0.0.1:8080", "localhost:5432", "[::1]:80" or "*:80", got ${JSON.stringify(text)}`);
  if (typeof text !== 'string') return bad();
  const m = /^(\[[0-9A-Fa-f:.]+\]|\*|[A-Za-z0-9.-]+):(\*|\d{1,5})$/.exec(text.trim());
  if (!m) return bad();
  let host = m[1].toLowerCase();
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (isIP(host) !== 6) return bad();
  }
  const port = m[2] === '*' ? 0 : Number(m[2]);
  if (m[2] !== '*' && (port < 1 || port > 65535)) return bad();
  return { host, port, text: text.trim() };
}
