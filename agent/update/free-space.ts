import { statfs } from 'node:fs/promises';

/** Bytes an unprivileged process may still write in the file system holding `dir`. */
export async function freeSpace(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Room kept free beyond the download itself (state files, logs). */
export const SPACE_MARGIN = 1024 * 1024;
