import { createHash } from 'node:crypto';

// The root filesystem images of simulated devices: a small text header the
// simulator reads at "boot" (version, whether the system comes up, whether
// its services are healthy) followed by deterministic filler, so a test can
// compare slots byte for byte and make images that fail on purpose.

export const SIM_ROOTFS_MAGIC = 'FLEETOS-SIM-ROOTFS 1';
/** The header lives in the first bytes; the simulator reads this much. */
export const SIM_ROOTFS_HEADER_BYTES = 512;
export const FACTORY_VERSION = '1.0.0';
export const FACTORY_IMAGE_SIZE = 64 * 1024;
/** The artifact group of simulated root filesystems. */
export const SIM_ROOTFS_GROUP = 'fleetos';

export interface SimRootfsSpec {
  version: string;
  /** Total image size in bytes (default 64 KiB). */
  size?: number;
  /** false: the system boots and reaches the hub, but its health check fails. */
  healthy?: boolean;
  /** false: the system never comes up (a kernel panic): the bootloader must fall back. */
  boots?: boolean;
}

export interface SimRootfsHeader {
  version: string;
  healthy: boolean;
  boots: boolean;
}

export function makeSimRootfs(spec: SimRootfsSpec): Buffer {
  const size = spec.size ?? FACTORY_IMAGE_SIZE;
  const header = Buffer.from(`${SIM_ROOTFS_MAGIC}\nversion=${spec.version}\nhealthy=${spec.healthy === false ? 0 : 1}\nboots=${spec.boots === false ? 0 : 1}\n\n`);
  if (header.length > SIM_ROOTFS_HEADER_BYTES || size < SIM_ROOTFS_HEADER_BYTES) throw new Error(`a simulated rootfs image needs at least ${SIM_ROOTFS_HEADER_BYTES} bytes, got ${size}`);
  const image = Buffer.alloc(size);
  header.copy(image);
  // Filler: sha256 in counter mode over the spec, so images differ by version.
  const seed = `${spec.version}/${spec.healthy !== false}/${spec.boots !== false}`;
  for (let off = SIM_ROOTFS_HEADER_BYTES, n = 0; off < size; off += 32, n++) {
    createHash('sha256').update(`${seed}:${n}`).digest().copy(image, off);
  }
  return image;
}

let factory: Buffer | undefined;

/**
 * The factory image every simulated device starts with: made once per
 * process and shared (its 2,000 sha256 blocks per device were a fifth of a
 * simulator's CPU in a 10,000-device rollout). Callers must not modify it.
 */
export function factoryImage(): Buffer {
  factory ??= makeSimRootfs({ version: FACTORY_VERSION });
  return factory;
}

/** Parses an image's header; null when the bytes are not a simulated rootfs (nothing to boot). */
export function parseSimRootfsHeader(bytes: Buffer): SimRootfsHeader | null {
  const text = bytes.subarray(0, SIM_ROOTFS_HEADER_BYTES).toString('latin1');
  if (!text.startsWith(`${SIM_ROOTFS_MAGIC}\n`)) return null;
  const fields = new Map<string, string>();
  for (const line of text.slice(SIM_ROOTFS_MAGIC.length + 1).split('\n')) {
    if (line === '') break;
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const version = fields.get('version');
  if (!version) return null;
  return { version, healthy: fields.get('healthy') !== '0', boots: fields.get('boots') !== '0' };
}
