import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EnvBootloader, type EnvStore, type EnvVars, checkChanges } from './env-bootloader';
import { DEFAULT_CMDLINE, readActiveSlot } from './kernel-cmdline';
import { parsePrintenv } from './uboot-env';
import { runTool } from './run-tool';

// The GRUB environment block (a 1024-byte file GRUB's load_env/save_env use)
// through grub-editenv. One `grub-editenv FILE set a=1 b=2 ...` call rewrites
// the whole block with a single write(2) and an fsync — but in place, after
// truncating it (grub-editenv 2.06), so a power cut at that moment would
// leave an empty block. So each write copies the block to FILE.fleet-new, lets
// grub-editenv change the copy, and renames it over FILE (then fsyncs the
// folder): the block is always the old or the new one. GRUB scripts cannot
// do arithmetic, so boot counting follows Mender's GRUB scheme (see
// docs/bootloader.md): the first trial boot sets bootcount=1, the next one
// without a commit falls back — a boot limit of 1.

const PKG = 'grub-common';

export const GRUB_BOOTLIMIT = 1;

export interface GrubEnvOptions {
  /** The environment block, e.g. /boot/grub/grubenv. */
  envFile: string;
  grubEditenv?: string;
  timeoutMs?: number;
}

export class GrubEnv implements EnvStore {
  readonly description: string;

  constructor(private readonly opts: GrubEnvOptions) {
    this.description = `GRUB environment ${opts.envFile}`;
  }

  async read(): Promise<EnvVars> {
    await this.mustExist();
    try {
      return parsePrintenv((await this.editenv(this.opts.envFile, ['list'])).stdout);
    } catch (err) {
      throw new Error(`${this.description}: cannot read it: ${(err as Error).message}`);
    }
  }

  async write(changes: Record<string, string | null>): Promise<void> {
    checkChanges(changes);
    const set = Object.entries(changes).filter((e): e is [string, string] => e[1] !== null);
    const unset = Object.keys(changes).filter((name) => changes[name] === null);
    const file = this.opts.envFile;
    const next = `${file}.fleet-new`;
    const { mode } = await this.mustExist();
    try {
      await copyDurably(file, next, mode);
      if (set.length) await this.editenv(next, ['set', ...set.map(([name, value]) => `${name}=${value}`)]);
      // grub-editenv cannot set and unset in one call; both change the copy,
      // and the rename below publishes them together.
      if (unset.length) await this.editenv(next, ['unset', ...unset]);
      await rename(next, file);
      await fsyncDir(dirname(file));
    } catch (err) {
      await rm(next, { force: true });
      throw new Error(`${this.description}: cannot write it: ${(err as Error).message}`);
    }
  }

  // grub-editenv silently creates a fresh block for a missing file, even for
  // `list`: a typo in the path would look like an empty environment.
  private async mustExist() {
    let info;
    try {
      info = await stat(this.opts.envFile);
    } catch (err) {
      throw new Error(
        `${this.description} does not exist (${(err as NodeJS.ErrnoException).code}): ` +
          `check the path, or create it with "grub-editenv ${this.opts.envFile} create" and set fleet_boot_part`,
      );
    }
    // It is replaced by rename, which only makes sense for a file GRUB finds by path.
    if (!info.isFile()) throw new Error(`${this.description} is not a regular file: point envFile at the grubenv file on the boot partition`);
    return info;
  }

  private editenv(file: string, args: string[]) {
    return runTool(this.opts.grubEditenv ?? 'grub-editenv', [file, ...args], { pkg: PKG, timeoutMs: this.opts.timeoutMs });
  }
}

async function copyDurably(from: string, to: string, mode: number): Promise<void> {
  const data = await readFile(from);
  const out = await open(to, 'w', mode & 0o7777);
  try {
    await out.writeFile(data);
    await out.sync();
  } finally {
    await out.close();
  }
}

async function fsyncDir(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export interface GrubBootloaderOptions extends GrubEnvOptions {
  /** Where the running slot is read (fleet.slot=); default /proc/cmdline. */
  cmdline?: string;
}

export function grubBootloader(opts: GrubBootloaderOptions): EnvBootloader {
  const cmdline = opts.cmdline ?? DEFAULT_CMDLINE;
  return new EnvBootloader({ kind: 'grub', store: new GrubEnv(opts), activeSlot: () => readActiveSlot(cmdline), bootlimit: GRUB_BOOTLIMIT });
}
