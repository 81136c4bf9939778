import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write';
import { type Slot, isSlot, otherSlot } from './bootloader';
import { DEFAULT_BOOTLIMIT, EnvBootloader, type EnvStore, type EnvVars, VAR, checkChanges } from './env-bootloader';
import { readActiveSlot } from './kernel-cmdline';

// A simulated device's bootloader: a folder under its state dir holding
//   env      the environment, `name=value` lines, replaced atomically
//            (temp + fsync + rename + fsync folder) so a transition is one
//            write and a power cut leaves the old or the new file, never half;
//   cmdline  what the "kernel" was booted with (fleet.slot=a|b), written by
//            simulateBoot — the simulator's /proc/cmdline.
// simulateBoot is what U-Boot does at power-on with CONFIG_BOOTCOUNT_LIMIT
// and CONFIG_BOOTCOUNT_ENV, plus the altbootcmd of docs/bootloader.md.

const HEADER = '# fleet simulated bootloader environment\n';

export function envFile(dir: string): string {
  return join(dir, 'env');
}

export function cmdlineFile(dir: string): string {
  return join(dir, 'cmdline');
}

/** The environment a factory-fresh simulated device boots with. */
export function defaultSimEnv(bootlimit = DEFAULT_BOOTLIMIT): EnvVars {
  return { [VAR.part]: 'a', [VAR.upgrade]: '0', [VAR.count]: '0', [VAR.limit]: String(bootlimit) };
}

export function parseSimEnv(text: string, file: string): EnvVars {
  const vars: EnvVars = {};
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${file}:${i + 1}: not a name=value line: ${JSON.stringify(line)}`);
    vars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return vars;
}

function formatSimEnv(vars: EnvVars): string {
  return HEADER + Object.keys(vars).sort().map((name) => `${name}=${vars[name]}\n`).join('');
}

async function readEnvFile(file: string): Promise<EnvVars | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the simulated bootloader environment ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseSimEnv(text, file);
}

export class SimEnv implements EnvStore {
  readonly description: string;
  private readonly file: string;

  constructor(dir: string) {
    this.file = envFile(dir);
    this.description = `simulated bootloader environment ${this.file}`;
  }

  async read(): Promise<EnvVars> {
    const vars = await readEnvFile(this.file);
    if (!vars) throw new Error(`${this.description} does not exist: the device has not been booted (simulateBoot) yet`);
    return vars;
  }

  async write(changes: Record<string, string | null>): Promise<void> {
    checkChanges(changes);
    const vars = await this.read();
    for (const [name, value] of Object.entries(changes)) {
      if (value === null || value === '') delete vars[name];
      else vars[name] = value;
    }
    await writeFileAtomic(this.file, formatSimEnv(vars), 0o644);
  }
}

export interface SimBootloaderOptions {
  /** The bootloader folder inside the device's state dir. */
  dir: string;
  bootlimit?: number;
}

export function simBootloader(opts: SimBootloaderOptions): EnvBootloader {
  return new EnvBootloader({ kind: 'sim', store: new SimEnv(opts.dir), activeSlot: () => readActiveSlot(cmdlineFile(opts.dir)), bootlimit: opts.bootlimit });
}

export interface BootDecision {
  /** The slot the bootloader starts. */
  slot: Slot;
  /** The boot limit was exceeded and the bootloader went back to the other slot. */
  fellBack: boolean;
  /** The environment after this boot, and whether it had to be saved. */
  env: EnvVars;
  save: boolean;
}

/**
 * U-Boot's power-on decision. bootcount goes up by one each boot but is saved
 * only while upgrade_available=1; once it exceeds a non-zero bootlimit U-Boot
 * runs altbootcmd instead of bootcmd. Ours flips fleet_boot_part when a trial
 * is pending, clears upgrade_available and bootcount, records
 * fleet_fallback=1 and saves — once, so the next boot is a normal one.
 */
export function bootDecision(current: EnvVars): BootDecision {
  const env = { ...current };
  const part = env[VAR.part];
  if (!isSlot(part)) throw new Error(`simulated bootloader: ${VAR.part} is ${JSON.stringify(part)}, not a or b: nothing to boot`);
  const trial = env[VAR.upgrade] === '1';
  const bootcount = (Number.parseInt(env[VAR.count] ?? '0', 10) || 0) + 1;
  const bootlimit = Number.parseInt(env[VAR.limit] ?? '0', 10) || 0;
  if (trial) env[VAR.count] = String(bootcount);
  if (bootlimit > 0 && bootcount > bootlimit && trial) {
    const old = otherSlot(part);
    Object.assign(env, { [VAR.part]: old, [VAR.upgrade]: '0', [VAR.count]: '0', [VAR.fallback]: '1' });
    return { slot: old, fellBack: true, env, save: true };
  }
  return { slot: part, fellBack: false, env, save: trial };
}

/**
 * Powers the simulated device on: applies bootDecision to the environment
 * (creating the factory default on the very first boot), then writes the
 * cmdline the agent will read. Returns what booted.
 */
export async function simulateBoot(dir: string, opts: { bootlimit?: number } = {}): Promise<BootDecision> {
  await mkdir(dir, { recursive: true });
  const file = envFile(dir);
  const stored = await readEnvFile(file);
  const decision = bootDecision(stored ?? defaultSimEnv(opts.bootlimit));
  if (decision.save || !stored) await writeFileAtomic(file, formatSimEnv(decision.env), 0o644);
  await writeFileAtomic(cmdlineFile(dir), `fleet.slot=${decision.slot}\n`, 0o644);
  return decision;
}
