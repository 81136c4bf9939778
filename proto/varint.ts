// Protobuf varints for the hand-written codecs beside the generated ones
// (hub/device/download-chunk.ts, proto/channel-frame-codec.ts): non-negative
// safe integers only (offsets, sizes, lengths), with division rather than
// bit operations so values above 2^31 stay right.

export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes `n` at `at`; returns the offset after it. */
export function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 128) {
    buf[at++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/** The varint at `at` (at most 5 bytes: lengths below 2^35), or undefined when it is cut short. */
export function readVarint(buf: Uint8Array, at: number): { value: number; at: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 5 && at < buf.length; i++) {
    const b = buf[at++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return { value, at };
    scale *= 128;
  }
  return undefined;
}
