import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DirEntry, DirListing } from '../channel-frame';
import { fsError } from '../remote-error';
import type { RootPolicy } from './root-policy';

// One page of a folder, sorted by name; the cursor is the last name of the
// previous page, so pages stay correct while files come and go.

export const DEFAULT_PAGE_SIZE = 200;
export const MAX_PAGE_SIZE = 1000;

export interface ListOptions {
  cursor?: string;
  limit?: number;
}

export async function listDirectory(policy: RootPolicy, path: string, options: ListOptions = {}): Promise<DirListing> {
  const dir = await policy.resolveInRoots(path, 'folder');
  const limit = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(options.limit ?? DEFAULT_PAGE_SIZE)));
  let names: string[];
  try {
    names = await readdir(dir.path);
  } catch (err) {
    throw fsError(err, path);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const after = options.cursor;
  const start = after === undefined ? 0 : names.findIndex((n) => n > after);
  const page = start < 0 ? [] : names.slice(start, start + limit);
  const entries: DirEntry[] = [];
  for (const name of page) {
    try {
      const st = await lstat(join(dir.path, name));
      const type: DirEntry['type'] = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      entries.push({ name, type, size: st.size, mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs) });
    } catch {
      // removed while we listed
    }
  }
  const more = start >= 0 && start + limit < names.length;
  return { path: dir.path, entries, ...(more ? { nextCursor: page[page.length - 1] } : {}) };
}
