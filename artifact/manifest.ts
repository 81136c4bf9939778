// The manifest: what the signature covers. Types, the reserved provides keys
// that carry the installed version per group, and the validation a reader
// runs on the manifest after its signature checked out.
import { ArtifactError } from './errors';
import { COMPRESSIONS, type Compression, MAX_PAYLOADS, payloadEntryName } from './format';
import { isValidVersion } from './version';

export type PayloadType = 'rootfs-image' | 'app' | 'hook' | `module:${string}`;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface PayloadInfo {
  index: number;
  type: PayloadType;
  /** Name of the original file (the image, app.tar, the module's file, the hook script). */
  name: string;
  /** Tar entry name inside the artifact, e.g. payloads/0000.gz. */
  file: string;
  /** Uncompressed size and sha256 (hex) of the bytes the consumer receives. */
  size: number;
  sha256: string;
  compression: Compression;
  /** Size and sha256 of the bytes as stored in the artifact. */
  storedSize: number;
  storedSha256: string;
  meta: JsonValue;
}

export interface Manifest {
  name: string;
  version: string;
  /** Downgrade protection works per group: versions only grow within one. */
  group: string;
  deviceTypes: string[];
  provides: Record<string, string>;
  depends: Record<string, string>;
  /** Patterns (with * wildcards) of device provides keys this artifact removes on install. */
  clearsProvides: string[];
  payloads: PayloadInfo[];
  /** State hook name (e.g. Install_Enter) -> index of a payload of type 'hook'. */
  hooks: Record<string, number>;
}

export const HOOK_STATES = ['Download', 'Install', 'Reboot', 'Verify', 'Commit', 'Rollback', 'Failure'] as const;
export const HOOK_MOMENTS = ['Enter', 'Leave', 'Error'] as const;
const HOOK_RE = new RegExp(`^(${HOOK_STATES.join('|')})_(${HOOK_MOMENTS.join('|')})$`);

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const GROUP_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MODULE_RE = /^module:[a-z0-9][a-z0-9_-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Provides keys derived from group, name and version on install; artifacts may not set them directly. */
export const RESERVED_PROVIDES_PREFIX = 'artifact.';
export function groupVersionKey(group: string): string {
  return `artifact.${group}.version`;
}
export function groupNameKey(group: string): string {
  return `artifact.${group}.name`;
}

export function isPayloadType(value: string): value is PayloadType {
  return value === 'rootfs-image' || value === 'app' || value === 'hook' || MODULE_RE.test(value);
}

function fail(message: string): never {
  throw new ArtifactError('malformed', `manifest: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (!isObject(v)) fail(`${field} must be an object of strings`);
  for (const [k, val] of Object.entries(v)) {
    if (!KEY_RE.test(k)) fail(`${field} key ${JSON.stringify(k)} is not allowed (letters, digits, . _ -)`);
    if (typeof val !== 'string' || val.length > 1024) fail(`${field}.${k} must be a string of at most 1024 characters`);
  }
  return v as Record<string, string>;
}

function size(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${field} must be a non-negative integer`);
  return v;
}

function validatePayload(p: unknown, i: number): PayloadInfo {
  if (!isObject(p)) fail(`payloads[${i}] must be an object`);
  if (p.index !== i) fail(`payloads[${i}].index must be ${i}`);
  if (typeof p.type !== 'string' || !isPayloadType(p.type)) fail(`payloads[${i}].type ${JSON.stringify(p.type)} is not rootfs-image, app, hook or module:<name>`);
  if (typeof p.name !== 'string' || p.name.length === 0 || p.name.length > 255 || /[/\\\0]/.test(p.name) || p.name === '.' || p.name === '..') {
    fail(`payloads[${i}].name must be a plain file name`);
  }
  if (typeof p.compression !== 'string' || !COMPRESSIONS.includes(p.compression as Compression)) {
    throw new ArtifactError('unknown-compression', `manifest: payloads[${i}].compression ${JSON.stringify(p.compression)} is not one of ${COMPRESSIONS.join(', ')}`);
  }
  const compression = p.compression as Compression;
  if (p.file !== payloadEntryName(i, compression)) fail(`payloads[${i}].file must be ${payloadEntryName(i, compression)}`);
  for (const f of ['sha256', 'storedSha256'] as const) {
    if (typeof p[f] !== 'string' || !HEX64.test(p[f] as string)) fail(`payloads[${i}].${f} must be 64 lowercase hex digits`);
  }
  const info: PayloadInfo = {
    index: i,
    type: p.type,
    name: p.name,
    file: p.file,
    size: size(p.size, `payloads[${i}].size`),
    sha256: p.sha256 as string,
    compression,
    storedSize: size(p.storedSize, `payloads[${i}].storedSize`),
    storedSha256: p.storedSha256 as string,
    meta: (p.meta ?? null) as JsonValue,
  };
  if (compression === 'none' && (info.size !== info.storedSize || info.sha256 !== info.storedSha256)) {
    fail(`payloads[${i}] is uncompressed, so its size and sha256 must equal storedSize and storedSha256`);
  }
  return info;
}

/** Checks every field; returns the manifest with defaults filled in. */
export function validateManifest(m: unknown): Manifest {
  if (!isObject(m)) fail('must be a JSON object');
  if (typeof m.name !== 'string' || !NAME_RE.test(m.name)) fail('name must be 1-128 letters, digits, . _ + - (starting with a letter or digit)');
  if (typeof m.version !== 'string' || !isValidVersion(m.version)) fail(`version ${JSON.stringify(m.version)} is not like 1.4.2 (digits and dots, optional -pre and +build)`);
  if (typeof m.group !== 'string' || !GROUP_RE.test(m.group)) fail('group must be 1-64 letters, digits, _ -');
  if (!Array.isArray(m.deviceTypes) || m.deviceTypes.length === 0 || m.deviceTypes.length > 256) fail('deviceTypes must list 1-256 device types');
  for (const t of m.deviceTypes) if (typeof t !== 'string' || !NAME_RE.test(t)) fail(`device type ${JSON.stringify(t)} is not allowed`);
  const provides = stringMap(m.provides ?? {}, 'provides');
  const reserved = Object.keys(provides).find((k) => k.startsWith(RESERVED_PROVIDES_PREFIX));
  if (reserved) fail(`provides key ${reserved} is reserved (artifact.<group>.version and .name come from the group and version fields)`);
  const depends = stringMap(m.depends ?? {}, 'depends');
  const clearsProvides = m.clearsProvides ?? [];
  if (!Array.isArray(clearsProvides) || clearsProvides.some((c) => typeof c !== 'string' || !/^[A-Za-z0-9._*-]{1,128}$/.test(c))) {
    fail('clearsProvides must be a list of key patterns (letters, digits, . _ - and *)');
  }
  if (!Array.isArray(m.payloads) || m.payloads.length === 0) fail('payloads must list at least one payload');
  if (m.payloads.length > MAX_PAYLOADS) fail(`at most ${MAX_PAYLOADS} payloads`);
  const payloads = m.payloads.map(validatePayload);
  const hooks = m.hooks ?? {};
  if (!isObject(hooks)) fail('hooks must be an object');
  for (const [hook, index] of Object.entries(hooks)) {
    if (!HOOK_RE.test(hook)) fail(`hook ${JSON.stringify(hook)} is not <State>_<Enter|Leave|Error> with State one of ${HOOK_STATES.join(', ')}`);
    if (typeof index !== 'number' || payloads[index]?.type !== 'hook') fail(`hook ${hook} must name the index of a payload of type hook`);
  }
  return {
    name: m.name,
    version: m.version,
    group: m.group,
    deviceTypes: m.deviceTypes as string[],
    provides,
    depends,
    clearsProvides: clearsProvides as string[],
    payloads,
    hooks: hooks as Record<string, number>,
  };
}

/** The manifest's bytes as the writer emits them (what gets signed). */
export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(JSON.stringify(m, null, 2) + '\n');
}

/** Parses manifest bytes; only call this on bytes whose signature was checked (or to inspect, labelled unverified). */
export function parseManifest(bytes: Buffer): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    fail(`not valid JSON (${(err as Error).message})`);
  }
  return validateManifest(json);
}
