import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../remote-error';
import { RootPolicy, type PathUse } from './root-policy';

let tmp: string;
let root: string;
let policy: RootPolicy;
const isRoot = process.getuid?.() === 0;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'root-policy-'));
  root = join(tmp, 'root');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(tmp, 'outside'));
  mkdirSync(join(tmp, 'root-sibling'));
  writeFileSync(join(root, 'ok.txt'), 'ok');
  writeFileSync(join(root, 'sub', 'deep.txt'), 'deep');
  writeFileSync(join(tmp, 'outside', 'secret.txt'), 'secret');
  writeFileSync(join(tmp, 'root-sibling', 'x.txt'), 'x');
  symlinkSync(join(tmp, 'outside', 'secret.txt'), join(root, 'link-out'));
  symlinkSync(join(tmp, 'outside'), join(root, 'dir-out'));
  symlinkSync('/dev/zero', join(root, 'zero'));
  symlinkSync('ok.txt', join(root, 'link-in'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  if (isRoot) execFileSync('mknod', [join(root, 'null-dev'), 'c', '1', '3']);
  policy = new RootPolicy({ enabled: true, roots: [root], allowNonRegular: false });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function codeOf(path: string, use: PathUse = 'file'): Promise<string> {
  try {
    await policy.resolveInRoots(path, use);
    return 'allowed';
  } catch (err) {
    expect(err).toBeInstanceOf(RemoteError);
    return (err as RemoteError).code;
  }
}

describe('RootPolicy.resolveInRoots', () => {
  it('allows files and folders inside the root, following symlinks that stay inside', async () => {
    expect((await policy.resolveInRoots(join(root, 'ok.txt'), 'file')).path).toBe(join(root, 'ok.txt'));
    expect((await policy.resolveInRoots(join(root, 'link-in'), 'file')).path).toBe(join(root, 'ok.txt'));
    expect((await policy.resolveInRoots(`${root}//sub/./deep.txt`, 'file')).path).toBe(join(root, 'sub', 'deep.txt'));
    expect((await policy.resolveInRoots(root, 'folder')).path).toBe(root);
    expect((await policy.resolveInRoots(join(root, 'new.bin'), 'new-file')).stat).toBeUndefined();
  });

  const escapes: Array<[string, () => string, PathUse]> = [
    ['../ escape', () => `${root}/../outside/secret.txt`, 'file'],
    ['../ escape that would land inside', () => `${root}/sub/../ok.txt`, 'file'],
    ['relative path', () => 'ok.txt', 'file'],
    ['absolute path outside', () => join(tmp, 'outside', 'secret.txt'), 'file'],
    ['sibling with the root as prefix', () => join(tmp, 'root-sibling', 'x.txt'), 'file'],
    ['/etc/passwd', () => '/etc/passwd', 'file'],
    ['symlink to a file outside', () => join(root, 'link-out'), 'file'],
    ['symlinked folder outside', () => join(root, 'dir-out', 'secret.txt'), 'file'],
    ['listing a symlinked folder outside', () => join(root, 'dir-out'), 'folder'],
    ['/dev/zero through a symlink', () => join(root, 'zero'), 'file'],
    ['upload through a symlinked folder outside', () => join(root, 'dir-out', 'new.txt'), 'new-file'],
    ['upload replacing a symlink that points outside', () => join(root, 'link-out'), 'new-file'],
    ['upload outside', () => join(tmp, 'outside', 'new.txt'), 'new-file'],
  ];
  it.each(escapes)('refuses %s as outside-roots', async (_name, path, use) => {
    expect(await codeOf(path(), use)).toBe('outside-roots');
  });

  it('does not reveal whether a path outside the roots exists', async () => {
    expect(await codeOf('/no/such/file')).toBe('outside-roots');
    expect(await codeOf(join(root, 'missing.txt'))).toBe('not-found');
  });

  it('refuses a FIFO without blocking, and device files', async () => {
    expect(await codeOf(join(root, 'fifo'))).toBe('not-regular');
    expect(await codeOf(join(root, 'fifo'), 'new-file')).toBe('not-regular');
    if (isRoot) expect(await codeOf(join(root, 'null-dev'))).toBe('not-regular');
    await expect(policy.resolveInRoots(join(root, 'fifo'), 'file')).rejects.toThrow(/is a FIFO; only regular files/);
  });

  it('refuses folders where a file is needed and files where a folder is', async () => {
    expect(await codeOf(join(root, 'sub'))).toBe('not-regular');
    expect(await codeOf(join(root, 'sub'), 'new-file')).toBe('not-regular');
    expect(await codeOf(join(root, 'ok.txt'), 'folder')).toBe('not-regular');
  });

  it('allows non-regular files only when configured', async () => {
    const lax = new RootPolicy({ enabled: true, roots: [root], allowNonRegular: true });
    expect((await lax.resolveInRoots(join(root, 'fifo'), 'file')).stat?.isFIFO()).toBe(true);
  });

  it('resolves an upload into folders that do not exist yet, inside the root, creating nothing', async () => {
    const r = await policy.resolveInRoots(join(root, 'sub', 'new', 'deeper', 'f.txt'), 'new-file');
    expect(r.path).toBe(join(root, 'sub', 'new', 'deeper', 'f.txt'));
    expect(r.missingFolders).toEqual([join(root, 'sub', 'new'), join(root, 'sub', 'new', 'deeper')]);
    expect(existsSync(join(root, 'sub', 'new'))).toBe(false);
    expect((await policy.resolveInRoots(join(root, 'sub', 'f.txt'), 'new-file')).missingFolders).toBeUndefined();
    // Through a link out, a file, a dangling link, outside: refused as before.
    expect(await codeOf(join(root, 'dir-out', 'new', 'f.txt'), 'new-file')).toBe('outside-roots');
    expect(await codeOf(join(tmp, 'outside', 'new', 'f.txt'), 'new-file')).toBe('outside-roots');
    expect(await codeOf(join(root, 'ok.txt', 'new', 'f.txt'), 'new-file')).toBe('not-regular');
    symlinkSync(join(tmp, 'outside', 'missing'), join(root, 'dangling'));
    expect(await codeOf(join(root, 'dangling', 'new', 'f.txt'), 'new-file')).toBe('not-found');
    expect(await codeOf(`${root}/new/../../outside/f.txt`, 'new-file')).toBe('outside-roots');
  });

  it('refuses everything when disabled', async () => {
    const off = new RootPolicy({ enabled: false, roots: [root], allowNonRegular: false });
    await expect(off.resolveInRoots(join(root, 'ok.txt'), 'file')).rejects.toMatchObject({ code: 'disabled' });
  });

  it('accepts a root that is itself a symlink', async () => {
    const linked = join(tmp, 'root-link');
    symlinkSync(root, linked);
    const p = new RootPolicy({ enabled: true, roots: [linked], allowNonRegular: false });
    expect((await p.resolveInRoots(join(linked, 'ok.txt'), 'file')).path).toBe(join(root, 'ok.txt'));
    expect((await p.resolveInRoots(join(root, 'ok.txt'), 'file')).path).toBe(join(root, 'ok.txt'));
  });
});
