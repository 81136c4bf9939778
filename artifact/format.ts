// Constants of the artifact format (docs/artifact-format.md). Changing any of
// them changes the format: bump FORMAT_VERSION.

export const FORMAT_ID = 'fleet-artifact';
export const FORMAT_VERSION = 1;

/** The exact bytes of the `version` entry; readers accept nothing else. */
export const VERSION_BYTES = Buffer.from(`{"format":"${FORMAT_ID}","version":${FORMAT_VERSION}}\n`);

export const VERSION_ENTRY = 'version';
export const MANIFEST_ENTRY = 'manifest.json';
export const SIGNATURE_ENTRY = 'manifest.sig';

/** Limits checked from the tar header, before a single byte of the entry is read. */
export const MAX_VERSION_BYTES = 256;
export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const MAX_SIGNATURE_BYTES = 4096;
export const MAX_PAYLOADS = 1000;

export type Compression = 'none' | 'gzip' | 'zstd';
export const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'zstd'];

const EXTENSIONS: Record<Compression, string> = { none: 'bin', gzip: 'gz', zstd: 'zst' };

/** The tar entry name of payload `index`: payloads/0000.gz, payloads/0001.bin, ... */
export function payloadEntryName(index: number, compression: Compression): string {
  return `payloads/${String(index).padStart(4, '0')}.${EXTENSIONS[compression]}`;
}
