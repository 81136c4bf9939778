import { accessSync, constants, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where the hub keeps its state inside its data folder. */
export interface HubPaths {
  dir: string;
  db: string;
  key: string;
  cert: string;
  adminToken: string;
}

/** Creates the data folder if needed and checks the hub can write in it. */
export function prepareDataDir(dir: string): HubPaths {
  try {
    makeDirs(dir);
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (err) {
    throw new Error(`data folder ${dir} is not usable (${(err as Error).message}): pass --data with a folder the hub can write`);
  }
  return {
    dir,
    db: join(dir, 'hub.db'),
    key: join(dir, 'hub.key'),
    cert: join(dir, 'hub.crt'),
    adminToken: join(dir, 'admin.token'),
  };
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir loops forever on some
 * pseudo file systems (e.g. under /proc) instead of failing.
 */
function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent);
  mkdirSync(dir, { mode: 0o700 });
}

/** Writes through a temporary file and a rename, so a crash never leaves half a file. */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}
