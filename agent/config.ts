import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseBootloaderConfig, type BootloaderConfig } from './bootloader/detect';
import type { Slot } from './bootloader/bootloader';
import { firstMac } from './inventory';
import { parseRemoteConfig, type RemoteConfig } from './remote/remote-config';
import { DEFAULT_REBOOT_COMMAND } from './update/reboot';

// The agent's config file (JSON). The hub and its certificate are named the
// way fleetctl names them (HOST:PORT, a PEM file), and FLEET_HUB / FLEET_CA
// fill in whatever the file leaves out.

export interface AgentConfig {
  /** The config file this came from (for messages). */
  file: string;
  hub: string;
  /** Absolute path of the hub certificate (PEM). */
  caPath: string;
  stateDir: string;
  deviceType: string;
  /** Extra identity attributes, merged over the detected ones. */
  identity: Record<string, string>;
  inventoryIntervalSeconds: number;
  update: UpdateConfig;
  /** Remote troubleshooting (shell, file transfer, port forward): all off unless the `remote` section enables it. */
  remote: RemoteConfig;
}

/** How the device takes updates (all paths absolute). */
export interface UpdateConfig {
  /** Files holding the SPKI PEM public keys whose artifact signatures are accepted. */
  trustedArtifactKeys: string[];
  /** A/B root filesystem partitions; with `bootloader`, rootfs-image payloads can be installed. */
  slots?: Record<Slot, string>;
  bootloader?: BootloaderConfig;
  hooksDir: string;
  modulesDir: string;
  appsDir: string;
  healthCheck: { units: string[]; scripts: string[]; timeoutSeconds: number };
  rebootCommand: string[];
}

export const DEFAULT_HOOKS_DIR = '/etc/fleet-agent/hooks';
export const DEFAULT_MODULES_DIR = '/usr/share/fleet-agent/modules';
export const DEFAULT_HEALTH_TIMEOUT_SECONDS = 300;

export const DEFAULT_STATE_DIR = '/var/lib/fleet-agent';
export const DEFAULT_INVENTORY_INTERVAL_SECONDS = 3600;

const KNOWN_FIELDS = new Set([
  'hub',
  'ca',
  'stateDir',
  'deviceType',
  'identity',
  'inventoryIntervalSeconds',
  'trustedArtifactKeys',
  'slots',
  'bootloader',
  'hooksDir',
  'modulesDir',
  'appsDir',
  'healthCheck',
  'rebootCommand',
  'remote',
]);

export function isHostPort(text: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  return !!m && Number(m[2]) > 0 && Number(m[2]) < 65536;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`config ${file}: not valid JSON (${(err as Error).message})`);
  }
  return parseConfig(json, file, env);
}

/** Validates a parsed config; relative paths resolve against the file's folder. */
export function parseConfig(json: unknown, file: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const fail = (msg: string): never => {
    throw new Error(`config ${file}: ${msg}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('must be a JSON object');
  const obj = json as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length) fail(`unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${[...KNOWN_FIELDS].join(', ')})`);
  const base = dirname(resolve(file));

  const hub = obj.hub ?? env.FLEET_HUB;
  if (hub === undefined) fail('field hub is missing: set it to the hub\'s HOST:PORT (or set FLEET_HUB)');
  if (typeof hub !== 'string' || !isHostPort(hub)) fail(`field hub must be HOST:PORT, got ${JSON.stringify(hub)}`);

  const ca = obj.ca ?? env.FLEET_CA;
  if (ca === undefined) fail('field ca is missing: set it to the path of the hub certificate (the hub writes DATA/hub.crt), or set FLEET_CA');
  if (typeof ca !== 'string' || ca === '') fail(`field ca must be a path to the hub certificate, got ${JSON.stringify(ca)}`);
  const caPath = isAbsolute(ca as string) ? (ca as string) : resolve(base, ca as string);

  const stateDir = obj.stateDir ?? DEFAULT_STATE_DIR;
  if (typeof stateDir !== 'string' || stateDir === '') fail(`field stateDir must be a folder path, got ${JSON.stringify(stateDir)}`);

  const deviceType = obj.deviceType;
  if (deviceType === undefined) fail('field deviceType is missing: name the kind of device (artifacts are matched against it)');
  if (typeof deviceType !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(deviceType)) fail(`field deviceType must be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(deviceType)}`);

  const identity: Record<string, string> = {};
  if (obj.identity !== undefined) {
    if (typeof obj.identity !== 'object' || obj.identity === null || Array.isArray(obj.identity)) fail('field identity must be an object of string attributes');
    for (const [k, v] of Object.entries(obj.identity as object)) {
      if (typeof v !== 'string') fail(`field identity.${k} must be a string, got ${JSON.stringify(v)}`);
      identity[k] = v as string;
    }
  }

  const interval = obj.inventoryIntervalSeconds ?? DEFAULT_INVENTORY_INTERVAL_SECONDS;
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 1) fail(`field inventoryIntervalSeconds must be a number >= 1, got ${JSON.stringify(interval)}`);

  const absStateDir = isAbsolute(stateDir as string) ? (stateDir as string) : resolve(base, stateDir as string);
  return {
    file,
    hub: hub as string,
    caPath,
    stateDir: absStateDir,
    deviceType: deviceType as string,
    identity,
    inventoryIntervalSeconds: interval as number,
    update: parseUpdateConfig(obj, base, absStateDir, fail),
    remote: parseRemote(obj.remote, fail),
  };
}

function parseUpdateConfig(obj: Record<string, unknown>, base: string, stateDir: string, fail: (msg: string) => never): UpdateConfig {
  const path = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || v === '') fail(`field ${field} must be a path, got ${JSON.stringify(v)}`);
    return isAbsolute(v as string) ? (v as string) : resolve(base, v as string);
  };
  const paths = (v: unknown, field: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) fail(`field ${field} must be a list of paths`);
    return (v as unknown[]).map((p, i) => path(p, `${field}[${i}]`));
  };
  let slots: Record<Slot, string> | undefined;
  if (obj.slots !== undefined) {
    const s = obj.slots as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || Array.isArray(s) || Object.keys(s).sort().join() !== 'a,b') fail('field slots must be {"a": "/dev/...", "b": "/dev/..."}');
    slots = { a: path(s.a, 'slots.a'), b: path(s.b, 'slots.b') };
    if (slots.a === slots.b) fail('fields slots.a and slots.b must name different partitions');
  }
  let bootloader: BootloaderConfig | undefined;
  try {
    bootloader = obj.bootloader === undefined ? undefined : parseBootloaderConfig(obj.bootloader, 'field bootloader', base);
  } catch (err) {
    fail((err as Error).message);
  }
  if (slots && !bootloader) fail('field slots needs field bootloader too ({"kind": "uboot"} or {"kind": "grub"}): the agent must switch slots through it');
  const hc = (obj.healthCheck ?? {}) as Record<string, unknown>;
  if (typeof hc !== 'object' || hc === null || Array.isArray(hc)) fail('field healthCheck must be an object like {"units": [...], "scripts": [...], "timeoutSeconds": 300}');
  const extra = Object.keys(hc).filter((k) => !['units', 'scripts', 'timeoutSeconds'].includes(k));
  if (extra.length) fail(`unknown field healthCheck.${extra[0]} (known: units, scripts, timeoutSeconds)`);
  const units = hc.units ?? [];
  if (!Array.isArray(units) || units.some((u) => typeof u !== 'string' || u === '')) fail('field healthCheck.units must be a list of systemd unit names');
  const timeout = hc.timeoutSeconds ?? DEFAULT_HEALTH_TIMEOUT_SECONDS;
  if (typeof timeout !== 'number' || !(timeout >= 1)) fail(`field healthCheck.timeoutSeconds must be a number >= 1, got ${JSON.stringify(timeout)}`);
  const reboot = obj.rebootCommand ?? DEFAULT_REBOOT_COMMAND;
  if (!Array.isArray(reboot) || reboot.length === 0 || reboot.some((w) => typeof w !== 'string' || w === '')) fail('field rebootCommand must be a command as a list, like ["systemctl", "reboot"]');
  return {
    trustedArtifactKeys: paths(obj.trustedArtifactKeys, 'trustedArtifactKeys'),
    slots,
    bootloader,
    hooksDir: obj.hooksDir === undefined ? DEFAULT_HOOKS_DIR : path(obj.hooksDir, 'hooksDir'),
    modulesDir: obj.modulesDir === undefined ? DEFAULT_MODULES_DIR : path(obj.modulesDir, 'modulesDir'),
    appsDir: obj.appsDir === undefined ? join(stateDir, 'apps') : path(obj.appsDir, 'appsDir'),
    healthCheck: { units: units as string[], scripts: paths(hc.scripts, 'healthCheck.scripts'), timeoutSeconds: timeout as number },
    rebootCommand: [...(reboot as string[])],
  };
}

function parseRemote(json: unknown, fail: (msg: string) => never): RemoteConfig {
  try {
    return parseRemoteConfig(json, 'field remote');
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** Reads the trusted artifact keys named by the config. */
export function readTrustedKeys(files: readonly string[]): string[] {
  return files.map((file) => {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the trusted artifact key ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); copy the release signing key's .pub file there`);
    }
    if (!pem.includes('-----BEGIN PUBLIC KEY-----')) throw new Error(`trusted artifact key ${file} is not a PEM public key (fleet-artifact keygen writes K.pub)`);
    return pem;
  });
}

/** Reads the hub certificate named by the config, with a message that says which. */
export function readCa(path: string, what = 'hub certificate'): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); copy the hub's DATA/hub.crt there`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${what} ${path} is not a PEM certificate`);
  return pem;
}

/**
 * The identity a real device presents: its type, a hardware serial (DMI, or
 * the machine id when there is no DMI), and its first MAC; config extras win.
 */
export function realIdentity(config: Pick<AgentConfig, 'deviceType' | 'identity'>, root = '/'): Record<string, string> {
  const identity: Record<string, string> = { device_type: config.deviceType };
  const serial = readSerial(root);
  if (serial) identity.serial = serial;
  const mac = firstMac(root);
  if (mac) identity.mac = mac;
  return { ...identity, ...config.identity };
}

function readSerial(root: string): string | undefined {
  for (const path of ['sys/class/dmi/id/product_serial', 'etc/machine-id']) {
    try {
      const value = readFileSync(resolve(root, path), 'utf8').trim();
      // Vendors fill DMI with placeholders; those identify nothing.
      if (value && !/^(none|default string|to be filled by o\.e\.m\.|0+|not specified)$/i.test(value)) return value;
    } catch {
      // absent or root-only (product_serial is 0400): try the next source
    }
  }
  return undefined;
}
