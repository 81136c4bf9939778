import { lstat, readdir, realpath, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isWithin } from './root-policy';

// A cut upload keeps its temporary file (`.NAME.fleet-upload-SIZE[-ID]`,
// upload.ts) so the same transfer can resume. One that is never resumed
// must not stay for ever: temp files not written to for `olderThanMs` are
// removed by a walk of the allowed roots (never following links, never
// outside them). The walk is bounded: a huge tree costs at most
// `maxEntries` directory entries per sweep.

export const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000;
const TEMP_NAME = /^\..+\.fleet-upload-\d+(-[A-Za-z0-9_-]{1,64})?$/;

export interface SweepOptions {
  olderThanMs: number;
  now?: number;
  /** Temp files in use by an upload right now. */
  skip?: ReadonlySet<string>;
  maxEntries?: number;
}

/** Removes stale upload temp files under `roots`; returns their paths. */
export async function sweepStaleUploads(roots: readonly string[], options: SweepOptions): Promise<string[]> {
  const now = options.now ?? Date.now();
  let budget = options.maxEntries ?? 200_000;
  const removed: string[] = [];
  const real = [...new Set((await Promise.all(roots.map((r) => realpath(r).catch(() => null)))).filter((r): r is string => r !== null))];
  // A root inside another root is walked once, as part of the outer one.
  const tops = real.filter((r) => !real.some((o) => o !== r && isWithin(r, o)));
  const stack = [...tops];
  while (stack.length > 0 && budget > 0) {
    const folder = stack.pop()!;
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (--budget < 0) break;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile() && TEMP_NAME.test(entry.name) && !options.skip?.has(path)) {
        const st = await lstat(path).catch(() => null);
        if (st?.isFile() && now - st.mtimeMs > options.olderThanMs && (await unlink(path).then(() => true, () => false))) removed.push(path);
      }
    }
  }
  return removed;
}
