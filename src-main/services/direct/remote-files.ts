import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { DirectError } from './direct-error';
import { exec, shellQuote } from './ssh-shell';
import type { SshConnection } from './ssh-connection';

/** One entry of a device folder, as the file view lists it. */
export interface RemoteEntry {
  name: string;
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  /** permission bits (e.g. 0o644) */
  mode: number;
  mtimeMs: number;
}

const S_IFMT = 0o170000;
const TYPES: Record<number, RemoteEntry['type']> = { 0o100000: 'file', 0o040000: 'directory', 0o120000: 'symlink' };

// SFTP status codes (draft-ietf-secsh-filexfer-02) ssh2 puts on its errors.
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

/** Words an SFTP failure for the operator: `what` says the operation ("download /x from device d"). */
export function sftpError(what: string, err: Error & { code?: number | string }): DirectError {
  if (err instanceof DirectError) return err;
  if (err.code === NO_SUCH_FILE) return new DirectError('not-found', `cannot ${what}: no such file or folder on the device`, { cause: err });
  if (err.code === PERMISSION_DENIED) return new DirectError('transfer-failed', `cannot ${what}: permission denied for the SSH user on the device`, { cause: err });
  return new DirectError('transfer-failed', `cannot ${what}: ${err.message}`, { cause: err });
}

/** Lists a device folder (symlinks are reported as links, not followed), folders first, then by name. */
export async function listDirectory(conn: SshConnection, remoteDir: string): Promise<RemoteEntry[]> {
  const sftp = await conn.sftp();
  const list = await new Promise<{ filename: string; attrs: { mode: number; size: number; mtime: number } }[]>((resolve, reject) =>
    sftp.readdir(remoteDir, (err, entries) => (err ? reject(sftpError(`list ${remoteDir} on device ${conn.target.deviceId}`, err)) : resolve(entries))),
  );
  return list
    .filter((e) => e.filename !== '.' && e.filename !== '..')
    .map((e) => ({
      name: e.filename,
      path: posix.join(remoteDir, e.filename),
      type: TYPES[e.attrs.mode & S_IFMT] ?? 'other',
      size: e.attrs.size,
      mode: e.attrs.mode & 0o7777,
      mtimeMs: e.attrs.mtime * 1000,
    }))
    .sort((a, b) => Number(b.type === 'directory') - Number(a.type === 'directory') || a.name.localeCompare(b.name));
}

/**
 * Makes `folder` and its missing parents on the device, like mkdir -p, as
 * the SSH user may (the server's permissions are the limit in direct mode).
 * Parents get 0755 less the server's umask; the folder itself `mode` when
 * given, set after making it since sftp-server's mkdir is subject to its
 * umask. A folder that exists is fine and keeps its mode. Answers the folder.
 */
export async function makeDirectory(conn: SshConnection, folder: string, mode?: number): Promise<RemoteEntry> {
  const what = `make the folder ${folder} on device ${conn.target.deviceId}`;
  const sftp = await conn.sftp();
  const isFolder = (st: { mode: number }) => (st.mode & S_IFMT) === 0o040000;
  const missing: string[] = [];
  for (let at = folder; ; at = posix.dirname(at)) {
    const st = await sftpCall.stat(sftp, at).catch(() => undefined);
    if (st) {
      if (!isFolder(st)) throw new DirectError('transfer-failed', `cannot ${what}: ${at} is not a folder`);
      break;
    }
    missing.unshift(at);
    if (posix.dirname(at) === at) break;
  }
  for (const at of missing) {
    await sftpCall.mkdir(sftp, at).catch(async (err: Error) => {
      // Made meanwhile by someone else: fine, as with mkdir -p.
      const st = await sftpCall.stat(sftp, at).catch(() => undefined);
      if (!st || !isFolder(st)) throw sftpError(`${what} (making ${at})`, err);
    });
  }
  if (mode !== undefined && missing.length > 0) await sftpCall.chmod(sftp, folder, mode & 0o777).catch((err: Error) => Promise.reject(sftpError(`${what} (setting its mode)`, err)));
  const st = await new Promise<{ mode: number; mtime: number }>((resolve, reject) => sftp.stat(folder, (err, s) => (err ? reject(sftpError(what, err)) : resolve(s))));
  return { name: posix.basename(folder), path: folder, type: 'directory', size: 0, mode: st.mode & 0o7777, mtimeMs: st.mtime * 1000 };
}

/** Promisified SFTP calls the transfers need. */
export const sftpCall = {
  stat: (sftp: SFTPWrapper, path: string) =>
    new Promise<{ mode: number; size: number }>((resolve, reject) => sftp.stat(path, (err, st) => (err ? reject(err) : resolve(st)))),
  mkdir: (sftp: SFTPWrapper, path: string, mode = 0o755) => new Promise<void>((resolve, reject) => sftp.mkdir(path, { mode }, (err) => (err ? reject(err) : resolve()))),
  chmod: (sftp: SFTPWrapper, path: string, mode: number) => new Promise<void>((resolve, reject) => sftp.chmod(path, mode, (err) => (err ? reject(err) : resolve()))),
  unlink: (sftp: SFTPWrapper, path: string) => new Promise<void>((resolve, reject) => sftp.unlink(path, (err) => (err ? reject(err) : resolve()))),
  /** Atomic replace (OpenSSH's posix-rename), falling back to plain rename where the extension is missing. */
  rename: (sftp: SFTPWrapper, from: string, to: string) =>
    new Promise<void>((resolve, reject) =>
      sftp.ext_openssh_rename(from, to, (err) => {
        if (!err) return resolve();
        if (!/not support/i.test(err.message)) return reject(err);
        // Plain SFTP rename refuses an existing target: remove it first (not atomic, but only on servers without posix-rename).
        sftp.rename(from, to, (err2) => {
          if (!err2) return resolve();
          sftp.unlink(to, () => sftp.rename(from, to, (err3) => (err3 ? reject(err3) : resolve())));
        });
      }),
    ),
};

/**
 * sha256 of a device file, or undefined when the device has no tool for it.
 * OpenSSL's digest (SHA extensions where the CPU has them) is preferred: it
 * hashes several times faster than coreutils' sha256sum, and on a large
 * upload the device's hash is the one step that cannot overlap the transfer.
 */
export async function remoteSha256(conn: SshConnection, path: string): Promise<string | undefined> {
  const f = shellQuote(path.startsWith('-') ? `./${path}` : path);
  const command = `if command -v openssl >/dev/null 2>&1; then exec openssl dgst -sha256 -r ${f}; else exec sha256sum ${f}; fi`;
  const r = await exec(conn, command, { timeoutMs: 600_000, maxOutputBytes: 64 * 1024 });
  if (r.code === 127) return undefined;
  const hex = /^([0-9a-f]{64})\s/.exec(r.stdout.toString())?.[1];
  if (r.code !== 0 || !hex) throw new DirectError('integrity', `cannot check ${path} on device ${conn.target.deviceId}: hashing it failed (${r.code ?? r.signal}): ${r.stderr.toString().trim()}`);
  return hex;
}
