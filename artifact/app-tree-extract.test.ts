import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { END_OF_ARCHIVE } from './artifact-tar';
import { extractTree } from './app-tree-extract';
import { encodeHeader, paddingFor, type TarHeader } from './tar-header';

function tree(entries: Array<Partial<TarHeader> & { name: string; data?: string }>): Readable {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    parts.push(encodeHeader({ size: data.length, mode: 0o644, mtime: 0, type: 'file', linkname: '', ...e }), data, Buffer.alloc(paddingFor(data.length)));
  }
  parts.push(END_OF_ARCHIVE);
  return Readable.from([Buffer.concat(parts)]);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'artifact-tree-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('extractTree keeps everything inside the target folder', () => {
  it.each(['../evil', '/etc/evil', 'a/../../evil', './x'])('refuses the path %s', async (name) => {
    await expect(extractTree(tree([{ name, data: 'x' }]), join(dir, 'out'))).rejects.toMatchObject({ code: 'malformed' });
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('refuses an entry below a symlink it created', async () => {
    const t = tree([{ name: 'link', type: 'symlink', linkname: dir }, { name: 'link/evil', data: 'x' }]);
    await expect(extractTree(t, join(dir, 'out'))).rejects.toThrow(/below a symlink/);
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('refuses a directory entry over a symlink it created', async () => {
    const t = tree([{ name: 'link', type: 'symlink', linkname: dir }, { name: 'link/', type: 'directory', mode: 0o777 }]);
    await expect(extractTree(t, join(dir, 'out'))).rejects.toThrow(/replaces a symlink/);
  });

  it('fills a read-only folder and applies its mode at the end', async () => {
    const t = tree([{ name: 'ro/', type: 'directory', mode: 0o555 }, { name: 'ro/f', data: 'x', mode: 0o444 }]);
    expect(await extractTree(t, join(dir, 'out'))).toBe(2);
    const { chmod, stat } = await import('node:fs/promises');
    expect((await stat(join(dir, 'out', 'ro'))).mode & 0o777).toBe(0o555);
    await chmod(join(dir, 'out', 'ro'), 0o755); // so a non-root run can clean up
  });

  it('refuses a truncated tree', async () => {
    const full = Buffer.concat(await tree([{ name: 'f', data: 'x'.repeat(2000) }]).toArray());
    await expect(extractTree(Readable.from([full.subarray(0, 1500)]), join(dir, 'out'))).rejects.toMatchObject({ code: 'truncated' });
  });
});
