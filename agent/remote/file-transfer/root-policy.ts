import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import type { FilesConfig } from '../remote-config';
import { RemoteError, fsError } from '../remote-error';

// Where file transfer may go: inside the configured roots, chroot-style.
// The authoritative check is on real paths (every symlink resolved), so a
// link inside a root that points outside is refused like an absolute path
// outside. Paths with `..` are refused outright, and a path that is not even
// lexically under a root is refused before the file system is touched, so
// a refusal never tells whether something exists outside the roots.
// Opened files are checked again through /proc/self/fd: a symlink swapped in
// between the check and the open cannot redirect the transfer.

/**
 * file: an existing file to read; folder: an existing folder to list;
 * new-file: a file to create or replace; new-folder: a folder to create (or
 * one that exists already, like `mkdir -p`).
 */
export type PathUse = 'file' | 'folder' | 'new-file' | 'new-folder';

export interface ResolvedPath {
  /** The real path (no symlinks) inside `root`. */
  path: string;
  /** The real path of the root it is in. */
  root: string;
  /** The target's stat; undefined for a new-file that does not exist yet. */
  stat?: Stats;
  /**
   * new-file: folders between the deepest existing one and the file that do
   * not exist yet, outermost first (all inside `root`); the upload creates them.
   * new-folder: the same, ending with the folder itself; absent when it exists.
   */
  missingFolders?: string[];
}

export type RootPolicyConfig = Pick<FilesConfig, 'enabled' | 'roots' | 'allowNonRegular'>;

export function isWithin(path: string, root: string): boolean {
  return root === '/' || path === root || path.startsWith(`${root}/`);
}

export class RootPolicy {
  constructor(readonly config: RootPolicyConfig) {}

  /** Resolves a path the operator sent; throws RemoteError outside-roots / not-found / not-regular / permission / disabled. */
  async resolveInRoots(path: string, use: PathUse): Promise<ResolvedPath> {
    if (!this.config.enabled) throw new RemoteError('disabled', 'file transfer is disabled on this device (set remote.files.enabled in the agent config)');
    if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new RemoteError('outside-roots', `path ${JSON.stringify(path)} is not a valid path`);
    if (!isAbsolute(path)) throw new RemoteError('outside-roots', `path ${JSON.stringify(path)} must be absolute (allowed folders: ${this.rootList()})`);
    if (path.split('/').includes('..')) throw new RemoteError('outside-roots', `path ${JSON.stringify(path)} may not contain '..' (allowed folders: ${this.rootList()})`);
    const wanted = normalize(path).replace(/(.)\/+$/, '$1');
    const roots = await this.realRoots();
    // Lexical gate: under a configured root, or under a root's real path.
    const lexical = this.config.roots.some((r) => isWithin(wanted, r)) || roots.some((r) => isWithin(wanted, r));
    if (!lexical) throw this.outside(path);

    if (use === 'new-file') return this.resolveNewFile(path, wanted, roots);
    if (use === 'new-folder') return this.resolveNewFolder(path, wanted, roots);

    let real: string;
    try {
      real = await realpath(wanted);
    } catch (err) {
      throw fsError(err, path);
    }
    const root = roots.find((r) => isWithin(real, r));
    if (!root) throw this.outside(path, real);
    let st: Stats;
    try {
      st = await stat(real);
    } catch (err) {
      throw fsError(err, path);
    }
    if (use === 'folder') {
      if (!st.isDirectory()) throw new RemoteError('not-regular', `${path} is not a folder`);
    } else this.checkFileType(path, st);
    return { path: real, root, stat: st };
  }

  /** Checks an opened file descriptor: still inside `root`, still an allowed type. */
  async verifyOpened(fd: number, expected: ResolvedPath, shown: string): Promise<void> {
    let actual: string;
    try {
      actual = await readlink(`/proc/self/fd/${fd}`);
    } catch {
      return; // no /proc: the realpath check stands alone
    }
    if (!isWithin(actual, expected.root)) throw this.outside(shown, actual);
  }

  checkFileType(shown: string, st: Stats): void {
    if (st.isDirectory()) throw new RemoteError('not-regular', `${shown} is a folder, not a file`);
    if (!st.isFile() && !this.config.allowNonRegular) {
      const kind = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device file' : 'not a regular file';
      throw new RemoteError('not-regular', `${shown} is ${kind}; only regular files can be transferred (remote.files.allowNonRegular is off)`);
    }
  }

  private async resolveNewFile(shown: string, wanted: string, roots: string[]): Promise<ResolvedPath> {
    const name = basename(wanted);
    if (roots.includes(wanted) || this.config.roots.includes(wanted)) throw new RemoteError('not-regular', `${shown} is a folder, not a file name`);
    // The deepest folder that exists decides where the file goes: its real
    // path must be inside a root. The folders below it do not exist, so they
    // cannot be links, and `..` was refused: creating them stays inside.
    const missing: string[] = [];
    let existing = dirname(wanted);
    let dir: string;
    for (;;) {
      try {
        dir = await realpath(existing);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTDIR') throw new RemoteError('not-regular', `${shown}: ${existing} is a file, not a folder`);
        if (code !== 'ENOENT' || existing === dirname(existing)) throw fsError(err, `folder of ${shown}`);
        // A dangling link on the way is not a folder to create: refuse as not found.
        if (await lstat(existing).then(() => true, () => false)) throw fsError(err, `folder of ${shown}`);
        missing.unshift(basename(existing));
        existing = dirname(existing);
      }
    }
    const root = roots.find((r) => isWithin(dir, r));
    if (!root) throw this.outside(shown, dir);
    if (missing.length > 0) {
      if (!(await stat(dir)).isDirectory()) throw new RemoteError('not-regular', `${shown}: ${existing} is not a folder`);
      const folders = missing.map((_, i) => join(dir, ...missing.slice(0, i + 1)));
      return { path: join(folders.at(-1)!, name), root, missingFolders: folders };
    }
    let target = join(dir, name);
    let st: Stats | undefined;
    try {
      const l = await lstat(target);
      if (l.isSymbolicLink()) {
        // Replace the file the link points to, if that is inside a root.
        target = await realpath(target).catch((err) => {
          throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? new RemoteError('not-found', `${shown} is a symlink to a missing file`) : fsError(err, shown);
        });
        if (!roots.some((r) => isWithin(target, r))) throw this.outside(shown, target);
        st = await stat(target);
      } else st = l;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, shown);
    }
    // An upload is renamed into place: it can only replace a regular file.
    if (st && !st.isFile()) throw new RemoteError('not-regular', `${shown} exists and is ${st.isDirectory() ? 'a folder' : 'not a regular file'}; an upload can only create or replace a regular file`);
    return { path: target, root: roots.find((r) => isWithin(target, r)) ?? root, stat: st };
  }

  private async resolveNewFolder(shown: string, wanted: string, roots: string[]): Promise<ResolvedPath> {
    let real: string | undefined;
    try {
      real = await realpath(wanted);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw new RemoteError('not-regular', `${shown}: a file is in the way (not a folder)`);
      if (code !== 'ENOENT') throw fsError(err, shown);
      // A dangling link is not a folder to create (mkdir would fail on it, or follow it out).
      if (await lstat(wanted).then(() => true, () => false)) throw new RemoteError('not-found', `${shown} is a symlink to a missing folder`);
    }
    if (real !== undefined) {
      // It exists: fine if it is a folder inside the roots (nothing to make).
      const root = roots.find((r) => isWithin(real, r));
      if (!root) throw this.outside(shown, real);
      const st = await stat(real).catch((err) => {
        throw fsError(err, shown);
      });
      if (!st.isDirectory()) throw new RemoteError('not-regular', `${shown} exists and is not a folder`);
      return { path: real, root, stat: st };
    }
    // Where it goes is decided as for a new file of that name: the deepest existing folder's real path.
    const parent = await this.resolveNewFile(shown, wanted, roots);
    return { path: parent.path, root: parent.root, missingFolders: [...(parent.missingFolders ?? []), parent.path] };
  }

  private async realRoots(): Promise<string[]> {
    const out: string[] = [];
    for (const r of this.config.roots) {
      try {
        out.push(await realpath(r));
      } catch {
        // a missing root allows nothing
      }
    }
    return out;
  }

  private rootList(): string {
    return this.config.roots.join(', ') || '(none)';
  }

  private outside(shown: string, real?: string): RemoteError {
    const via = real && real !== shown ? ` (it leads to ${real})` : '';
    return new RemoteError('outside-roots', `${shown} is outside the folders file transfer may use${via}; allowed: ${this.rootList()}`);
  }
}
