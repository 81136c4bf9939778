import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Bootloader } from './bootloader';
import { grubBootloader } from './grub-env';
import { simBootloader } from './sim-bootloader';
import { ubootBootloader } from './uboot-env';

// Picks the bootloader backend from the agent config's `bootloader` field and
// checks, before the first update needs it, that its tools and files exist.

export type BootloaderConfig =
  | { kind: 'uboot'; config: string; defaultEnv?: string; cmdline?: string; bootlimit?: number }
  | { kind: 'grub'; envFile: string; cmdline?: string }
  | { kind: 'sim'; bootlimit?: number };

export const DEFAULT_FW_ENV_CONFIG = '/etc/fw_env.config';
export const DEFAULT_GRUBENV = '/boot/grub/grubenv';

const FIELDS: Record<BootloaderConfig['kind'], string[]> = {
  uboot: ['kind', 'config', 'defaultEnv', 'cmdline', 'bootlimit'],
  grub: ['kind', 'envFile', 'cmdline'],
  sim: ['kind', 'bootlimit'],
};

/**
 * Validates the `bootloader` field of an agent config. `where` names it in
 * messages; relative paths resolve against `baseDir` (the config's folder).
 */
export function parseBootloaderConfig(json: unknown, where: string, baseDir: string): BootloaderConfig {
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('must be an object like {"kind": "uboot"}');
  const obj = json as Record<string, unknown>;
  const kind = obj.kind;
  if (kind !== 'uboot' && kind !== 'grub' && kind !== 'sim') return fail(`kind must be "uboot", "grub" or "sim", got ${JSON.stringify(kind)}`);
  const unknown = Object.keys(obj).filter((k) => !FIELDS[kind].includes(k));
  if (unknown.length) fail(`unknown field ${unknown.map((k) => `"${k}"`).join(', ')} for kind ${kind} (known: ${FIELDS[kind].join(', ')})`);
  const path = (field: string, fallback?: string): string | undefined => {
    const v = obj[field] ?? fallback;
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') fail(`${field} must be a file path, got ${JSON.stringify(v)}`);
    return isAbsolute(v as string) ? (v as string) : resolve(baseDir, v as string);
  };
  const bootlimit = obj.bootlimit;
  if (bootlimit !== undefined && !(typeof bootlimit === 'number' && Number.isInteger(bootlimit) && bootlimit >= 1)) {
    fail(`bootlimit must be a whole number >= 1, got ${JSON.stringify(bootlimit)}`);
  }
  const extra = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  switch (kind) {
    case 'uboot':
      return extra({ kind, config: path('config', DEFAULT_FW_ENV_CONFIG), defaultEnv: path('defaultEnv'), cmdline: path('cmdline'), bootlimit }) as BootloaderConfig;
    case 'grub':
      return extra({ kind, envFile: path('envFile', DEFAULT_GRUBENV), cmdline: path('cmdline') }) as BootloaderConfig;
    case 'sim':
      return extra({ kind, bootlimit }) as BootloaderConfig;
  }
}

/** The absolute path of an executable on PATH, or null. */
export async function findTool(name: string, searchPath = process.env.PATH ?? ''): Promise<string | null> {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  return null;
}

async function requireTool(name: string, pkg: string, searchPath: string | undefined): Promise<string> {
  const file = await findTool(name, searchPath);
  if (!file) throw new Error(`${name} not found on PATH: install ${pkg}`);
  return file;
}

async function requireFile(file: string, what: string, fix: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch (err) {
    throw new Error(`${what} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code}); ${fix}`);
  }
}

export interface CreateBootloaderContext {
  /** The agent's state dir; the simulator keeps its bootloader in stateDir/bootloader. */
  stateDir: string;
  /** PATH to search for the tools (default: the process's). */
  searchPath?: string;
}

export async function createBootloader(config: BootloaderConfig, ctx: CreateBootloaderContext): Promise<Bootloader> {
  switch (config.kind) {
    case 'uboot': {
      const fwPrintenv = await requireTool('fw_printenv', 'libubootenv-tool', ctx.searchPath);
      const fwSetenv = await requireTool('fw_setenv', 'libubootenv-tool', ctx.searchPath);
      await requireFile(config.config, 'fw_env.config', 'write one line per environment copy: "DEVICE OFFSET SIZE" (see docs/bootloader.md)');
      return ubootBootloader({ ...config, fwPrintenv, fwSetenv });
    }
    case 'grub': {
      const grubEditenv = await requireTool('grub-editenv', 'grub-common', ctx.searchPath);
      await requireFile(config.envFile, 'GRUB environment', `create it with "grub-editenv ${config.envFile} create" and set fleet_boot_part (see docs/bootloader.md)`);
      return grubBootloader({ ...config, grubEditenv });
    }
    case 'sim':
      return simBootloader({ dir: join(ctx.stateDir, 'bootloader'), bootlimit: config.bootlimit });
  }
}
