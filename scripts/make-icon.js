#!/usr/bin/env node
// Draws the app icon (resources/icon.png, 512×512) with no image tools: a
// dark rounded square holding a 3×3 fleet of devices, most online (green),
// one pending (amber). electron-builder derives the Windows and macOS icons
// from it. Run again after changing the design: `node scripts/make-icon.js`.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 512;
const BG = [22, 32, 43];
const ON = [45, 164, 78];
const PENDING = [212, 167, 44];
const ACCENT = [31, 111, 235];

/** Coverage (0..1) of a pixel by a shape given as a signed distance, for smooth edges. */
const cover = (distance) => Math.max(0, Math.min(1, 0.5 - distance));

function roundedSquare(x, y, inset, radius) {
  const half = SIZE / 2 - inset;
  const dx = Math.abs(x - SIZE / 2) - (half - radius);
  const dy = Math.abs(y - SIZE / 2) - (half - radius);
  return Math.hypot(Math.max(dx, 0), Math.max(dy, 0)) + Math.min(Math.max(dx, dy), 0) - radius;
}

const pixels = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) {
  pixels[y * (SIZE * 4 + 1)] = 0; // PNG filter: none
  for (let x = 0; x < SIZE; x++) {
    let rgb = BG;
    let alpha = cover(roundedSquare(x + 0.5, y + 0.5, 24, 96));
    for (let row = 0; row < 3; row++) {
      for (let col = 0; col < 3; col++) {
        const cx = 136 + col * 120;
        const cy = 136 + row * 120;
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        const color = row === 1 && col === 1 ? ACCENT : row === 2 && col === 2 ? PENDING : ON;
        const k = cover(d - 38);
        if (k > 0) rgb = rgb.map((c, i) => Math.round(c * (1 - k) + color[i] * k));
      }
    }
    const o = y * (SIZE * 4 + 1) + 1 + x * 4;
    pixels.set([...rgb, Math.round(alpha * 255)], o);
  }
}

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', deflateSync(pixels, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
const out = new URL('../resources/icon.png', import.meta.url);
writeFileSync(out, png);
console.log(`wrote ${out.pathname} (${png.length} bytes)`);
