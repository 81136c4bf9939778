const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** "32MiB", "512k", "1048576" -> bytes (binary units); throws naming the flag. */
export function parseByteSize(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m && UNITS[m[2].toLowerCase()];
  if (!m || !unit) throw new Error(`${flag} must be a size like 32MiB, 512KiB or a number of bytes, got "${text}"`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1024) throw new Error(`${flag} must be at least 1KiB, got "${text}"`);
  return bytes;
}
