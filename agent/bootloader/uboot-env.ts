import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvBootloader, type EnvStore, type EnvVars, checkChanges } from './env-bootloader';
import { DEFAULT_CMDLINE, readActiveSlot } from './kernel-cmdline';
import { runTool } from './run-tool';

// The U-Boot environment through libubootenv's own tools, so the agent uses
// exactly the CRC, redundancy flags and locking the board's fw_env.config
// describes. A transition is ONE `fw_setenv -s SCRIPT` call: libubootenv
// applies every line to its in-memory copy and stores the block once (with a
// redundant environment: into the inactive copy, then flips the flag), so a
// power cut leaves all of a transition or none of it. Chained fw_setenv calls
// could leave, say, upgrade_available=1 with the old boot part.
//
// Script format accepted by Debian's libubootenv 0.3.2 (checked by the tests):
// `name=value` sets, `name=` removes, `#` starts a comment; a line without
// `=` (U-Boot's old `name value` form) is silently ignored.

const PKG = 'libubootenv-tool';

export interface UBootEnvOptions {
  /** fw_env.config path (passed as -c). */
  config: string;
  /**
   * Default environment file (-f) used while the stored one has no valid CRC
   * (a board that never ran saveenv). libubootenv's built-in default is
   * /etc/u-boot-initial-env.
   */
  defaultEnv?: string;
  fwPrintenv?: string;
  fwSetenv?: string;
  timeoutMs?: number;
}

/** Parses fw_printenv's `name=value` lines; a line without `=` continues a multi-line value. */
export function parsePrintenv(text: string): EnvVars {
  const vars: EnvVars = {};
  let last: string | null = null;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) {
      last = line.slice(0, eq);
      vars[last] = line.slice(eq + 1);
    } else if (last !== null && line !== '') {
      vars[last] += `\n${line}`;
    }
  }
  return vars;
}

/** The `-s` script for one transition: `name=value`, or `name=` to remove. */
export function setenvScript(changes: Record<string, string | null>): string {
  checkChanges(changes);
  return Object.entries(changes).map(([name, value]) => `${name}=${value ?? ''}\n`).join('');
}

export class UBootEnv implements EnvStore {
  readonly description: string;

  constructor(private readonly opts: UBootEnvOptions) {
    this.description = `U-Boot environment (fw_env.config ${opts.config})`;
  }

  async read(): Promise<EnvVars> {
    const tool = this.opts.fwPrintenv ?? 'fw_printenv';
    try {
      const { stdout } = await runTool(tool, this.args(), { pkg: PKG, timeoutMs: this.opts.timeoutMs });
      return parsePrintenv(stdout);
    } catch (err) {
      throw new Error(`${this.description}: cannot read it: ${(err as Error).message}${hint((err as Error).message)}`);
    }
  }

  private args(): string[] {
    return ['-c', this.opts.config, ...(this.opts.defaultEnv ? ['-f', this.opts.defaultEnv] : [])];
  }

  async write(changes: Record<string, string | null>): Promise<void> {
    const script = setenvScript(changes);
    if (!script) return;
    const dir = await mkdtemp(join(tmpdir(), 'fleet-fw_setenv-'));
    try {
      const file = join(dir, 'script');
      await writeFile(file, script, { mode: 0o600 });
      await runTool(this.opts.fwSetenv ?? 'fw_setenv', [...this.args(), '-s', file], { pkg: PKG, timeoutMs: this.opts.timeoutMs });
    } catch (err) {
      throw new Error(`${this.description}: cannot write it: ${(err as Error).message}${hint((err as Error).message)}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function hint(message: string): string {
  if (message.includes('Configuration file wrong')) return ' (fix the fw_env.config: each line is "DEVICE OFFSET SIZE", and the device must exist)';
  if (message.includes('Cannot read default environment')) return ' (the environment has no valid CRC and there is no default environment file: let U-Boot saveenv once, or initialise it)';
  if (message.includes('Error storing the env')) return ' (the environment device or file is not writable by this user, or is write-protected)';
  return '';
}

export interface UBootBootloaderOptions extends UBootEnvOptions {
  /** Where the running slot is read (fleet.slot=); default /proc/cmdline. */
  cmdline?: string;
  bootlimit?: number;
}

export function ubootBootloader(opts: UBootBootloaderOptions): EnvBootloader {
  const cmdline = opts.cmdline ?? DEFAULT_CMDLINE;
  return new EnvBootloader({ kind: 'uboot', store: new UBootEnv(opts), activeSlot: () => readActiveSlot(cmdline), bootlimit: opts.bootlimit });
}
