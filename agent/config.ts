import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { firstMac } from './inventory';

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
}

export const DEFAULT_STATE_DIR = '/var/lib/fleet-agent';
export const DEFAULT_INVENTORY_INTERVAL_SECONDS = 3600;

const KNOWN_FIELDS = new Set(['hub', 'ca', 'stateDir', 'deviceType', 'identity', 'inventoryIntervalSeconds']);

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

  return {
    file,
    hub: hub as string,
    caPath,
    stateDir: isAbsolute(stateDir as string) ? (stateDir as string) : resolve(base, stateDir as string),
    deviceType: deviceType as string,
    identity,
    inventoryIntervalSeconds: interval as number,
  };
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
