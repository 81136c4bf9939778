// Streaming, not buffering: a 256 MiB image (a sparse file of zeros) is
// written into an artifact and read back with every hash checked, while the
// process RSS is sampled; holding the image would add at least 256 MiB.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readArtifact } from './read-artifact';
import { testKeys } from './testing/fixtures';
import { writeArtifact } from './write-artifact';
import type { Compression } from './format';

const SIZE = 256 * 1024 * 1024;
let dir: string;
let zeroSha: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'artifact-mem-'));
  const fh = await open(join(dir, 'rootfs.img'), 'w');
  await fh.truncate(SIZE); // sparse: costs no disk and no memory
  await fh.close();
  const h = createHash('sha256');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < SIZE / block.length; i++) h.update(block);
  zeroSha = h.digest('hex');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sampleRss(): { stop: () => number } {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss) - base;
    },
  };
}

it.each<Compression>(['none', 'gzip'])('a 256 MiB image goes through write and verify (%s) with small RSS growth', { timeout: 30_000 }, async (compression) => {
  const [trusted] = testKeys();
  const file = join(dir, `big-${compression}.art`);
  const rss = sampleRss();
  const written = await writeArtifact(
    { name: 'big', version: '1.0.0', deviceTypes: ['pi'], compression, signingKey: trusted.privateKeyPem, payloads: [{ type: 'rootfs-image', source: join(dir, 'rootfs.img') }] },
    createWriteStream(file),
  );
  expect(written.manifest.payloads[0]).toMatchObject({ size: SIZE, sha256: zeroSha });
  expect((await stat(file)).size).toBe(written.size);
  let seen = 0;
  const read = await readArtifact(createReadStream(file, { highWaterMark: 1024 * 1024 }), {
    trustedKeys: [trusted.publicKeyPem],
    onPayload: async (_p, stream) => {
      for await (const chunk of stream) seen += (chunk as Buffer).length;
    },
  });
  const growth = rss.stop();
  expect(read.manifest.payloads[0].sha256).toBe(zeroSha);
  expect(seen).toBe(SIZE);
  expect(growth).toBeLessThan(96 * 1024 * 1024);
  await rm(file);
});
