import { stat } from 'node:fs/promises';
import { EnvBootloader, type EnvStore, type EnvVars, checkChanges } from './env-bootloader';
import { DEFAULT_CMDLINE, readActiveSlot } from './kernel-cmdline';
import { parsePrintenv } from './uboot-env';
import { runTool } from './run-tool';

// The GRUB environment block (a 1024-byte file GRUB's load_env/save_env use)
// through grub-editenv. One `grub-editenv FILE set a=1 b=2 ...` call rewrites
// the whole block with a single write(2) and an fsync, so a transition is one
// write. GRUB scripts cannot do arithmetic, so boot counting follows Mender's
// GRUB scheme (see docs/bootloader.md): the first trial boot sets bootcount=1,
// the next one without a commit falls back — a boot limit of 1.

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
      return parsePrintenv((await this.editenv(['list'])).stdout);
    } catch (err) {
      throw new Error(`${this.description}: cannot read it: ${(err as Error).message}`);
    }
  }

  async write(changes: Record<string, string | null>): Promise<void> {
    checkChanges(changes);
    await this.mustExist();
    const set = Object.entries(changes).filter((e): e is [string, string] => e[1] !== null);
    const unset = Object.keys(changes).filter((name) => changes[name] === null);
    try {
      if (set.length) await this.editenv(['set', ...set.map(([name, value]) => `${name}=${value}`)]);
      // grub-editenv cannot set and unset in one call; transitions only set, and
      // only the canary removes its own variable.
      if (unset.length) await this.editenv(['unset', ...unset]);
    } catch (err) {
      throw new Error(`${this.description}: cannot write it: ${(err as Error).message}`);
    }
  }

  // grub-editenv silently creates a fresh block for a missing file, even for
  // `list`: a typo in the path would look like an empty environment.
  private async mustExist(): Promise<void> {
    try {
      await stat(this.opts.envFile);
    } catch (err) {
      throw new Error(
        `${this.description} does not exist (${(err as NodeJS.ErrnoException).code}): ` +
          `check the path, or create it with "grub-editenv ${this.opts.envFile} create" and set fleet_boot_part`,
      );
    }
  }

  private editenv(args: string[]) {
    return runTool(this.opts.grubEditenv ?? 'grub-editenv', [this.opts.envFile, ...args], { pkg: PKG, timeoutMs: this.opts.timeoutMs });
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
