import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packTree } from './app-tree';
import { extractTree } from './app-tree-extract';
import type { Compression } from './format';
import { buildArtifact, errorCode, prng, randomBytes, readOutcome, testKeys } from './testing/fixtures';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const [trusted] = testKeys();
const rand = prng(7);
const image = Buffer.concat([randomBytes(rand, 70_000), Buffer.alloc(50_000, 1)]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'artifact-rt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe.each<Compression>(['none', 'gzip', 'zstd'])('round trip with compression %s', (compression) => {
  it('rootfs-image: the consumer gets the exact bytes, hashes in the manifest match', async () => {
    const art = await buildArtifact({ name: 'os', version: '1.0.0', deviceTypes: ['pi'], compression, signingKey: trusted.privateKeyPem, payloads: [{ type: 'rootfs-image', name: 'rootfs.ext4', data: image }] });
    const r = await readOutcome(art);
    expect(errorCode(r.error)).toBe('accepted');
    expect(r.deliveries).toHaveLength(1);
    expect(r.deliveries[0].ended).toBe(true);
    expect(r.deliveries[0].bytes.equals(image)).toBe(true);
    const p = r.manifest!.payloads[0];
    expect(p).toMatchObject({ type: 'rootfs-image', name: 'rootfs.ext4', size: image.length, sha256: sha(image), compression });
    if (compression !== 'none') expect(p.storedSize).toBeLessThan(image.length);
  });

  it('module: several files, an empty one included, plus a state hook', async () => {
    const files = [Buffer.from('firmware-bytes'.repeat(100)), Buffer.alloc(0)];
    const hook = Buffer.from('#!/bin/sh\nexit 0\n');
    const art = await buildArtifact({
      name: 'modem-fw',
      version: '3.1',
      group: 'modem',
      deviceTypes: ['pi', 'gw'],
      provides: { 'modem.firmware': '3.1' },
      depends: { 'modem.model': 'EG25' },
      clearsProvides: ['modem.*'],
      compression,
      signingKey: trusted.privateKeyPem,
      hooks: { Install_Enter: 2 },
      payloads: [
        { type: 'module:modem', name: 'fw.bin', data: files[0] },
        { type: 'module:modem', name: 'empty.sig', data: files[1] },
        { type: 'hook', name: 'check.sh', data: hook },
      ],
    });
    const r = await readOutcome(art);
    expect(errorCode(r.error)).toBe('accepted');
    expect(r.deliveries.map((d) => d.ended)).toEqual([true, true, true]);
    expect(r.deliveries[0].bytes.equals(files[0])).toBe(true);
    expect(r.deliveries[1].bytes.length).toBe(0);
    expect(r.deliveries[2].bytes.equals(hook)).toBe(true);
    expect(r.manifest).toMatchObject({ group: 'modem', provides: { 'modem.firmware': '3.1' }, depends: { 'modem.model': 'EG25' }, clearsProvides: ['modem.*'], hooks: { Install_Enter: 2 } });
  });

  it('app: a file tree with modes and a symlink comes back the same', async () => {
    const src = join(dir, `app-${compression}`);
    await mkdir(join(src, 'bin'), { recursive: true });
    await writeFile(join(src, 'bin', 'run'), '#!/bin/sh\necho hi\n');
    await chmod(join(src, 'bin', 'run'), 0o750);
    await writeFile(join(src, 'config.json'), '{"a":1}');
    await chmod(join(src, 'config.json'), 0o600);
    await symlink('bin/run', join(src, 'start'));
    const art = await buildArtifact({ name: 'app', version: '2.0.0', deviceTypes: ['pi'], compression, signingKey: trusted.privateKeyPem, payloads: [{ type: 'app', name: 'app.tar', data: await collect(packTree(src)) }] });
    const r = await readOutcome(art);
    expect(errorCode(r.error)).toBe('accepted');
    const dest = join(dir, `out-${compression}`);
    expect(await extractTree(Readable.from([r.deliveries[0].bytes]), dest)).toBe(4);
    expect((await stat(join(dest, 'bin', 'run'))).mode & 0o777).toBe(0o750);
    expect((await stat(join(dest, 'config.json'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dest, 'bin', 'run'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(await readlink(join(dest, 'start'))).toBe('bin/run');
  });
});

describe('reading', () => {
  it('the same inputs give the same artifact bytes (deterministic, signature included)', async () => {
    const opts = { name: 'os', version: '1.0.0', deviceTypes: ['pi'], signingKey: trusted.privateKeyPem, payloads: [{ type: 'rootfs-image' as const, name: 'r', data: image }] };
    expect((await buildArtifact(opts)).equals(await buildArtifact(opts))).toBe(true);
  });

  it('works with one-byte chunks and with a consumer that reads nothing', async () => {
    const art = await buildArtifact({ name: 'os', version: '1.0.0', deviceTypes: ['pi'], signingKey: trusted.privateKeyPem, payloads: [{ type: 'rootfs-image', name: 'r', data: image.subarray(0, 3000) }] });
    expect(errorCode((await readOutcome(art, { chunkSize: 1 })).error)).toBe('accepted');
    const { readArtifact } = await import('./read-artifact');
    const r = await readArtifact(Readable.from([art]), { trustedKeys: [trusted.publicKeyPem], onPayload: () => {} });
    expect(r.manifest.name).toBe('os');
    const noConsumer = await readArtifact(Readable.from([art]), { trustedKeys: [trusted.publicKeyPem] });
    expect(noConsumer.size).toBe(art.length);
  });

  it('a consumer that fails stops the read with its own error', async () => {
    const art = await buildArtifact({ name: 'os', version: '1.0.0', deviceTypes: ['pi'], signingKey: trusted.privateKeyPem, payloads: [{ type: 'rootfs-image', name: 'r', data: image }] });
    const { readArtifact } = await import('./read-artifact');
    await expect(
      readArtifact(Readable.from([art]), {
        trustedKeys: [trusted.publicKeyPem],
        onPayload: async () => {
          throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
  });

  it('an unsigned artifact is refused as unsigned', async () => {
    const art = await buildArtifact({ name: 'os', version: '1.0.0', deviceTypes: ['pi'], payloads: [{ type: 'rootfs-image', name: 'r', data: image }] });
    const r = await readOutcome(art);
    expect(errorCode(r.error)).toBe('unsigned');
    expect(r.deliveries).toHaveLength(0);
  });

  it('the writer refuses bad fields before reading any payload', async () => {
    const base = { name: 'os', version: '1.0.0', deviceTypes: ['pi'], payloads: [{ type: 'rootfs-image' as const, name: 'r', data: image }] };
    await expect(buildArtifact({ ...base, version: 'one' })).rejects.toThrow(/version "one"/);
    await expect(buildArtifact({ ...base, deviceTypes: [] })).rejects.toThrow(/deviceTypes/);
    await expect(buildArtifact({ ...base, provides: { 'artifact.os.version': '9' } })).rejects.toThrow(/reserved/);
    await expect(buildArtifact({ ...base, hooks: { Install_Enter: 0 } })).rejects.toThrow(/type hook/);
    await expect(buildArtifact({ ...base, compression: 'lz4' as Compression })).rejects.toMatchObject({ code: 'unknown-compression' });
  });
});

describe('without the zstd program', () => {
  it('reading a zstd payload fails as zstd-unavailable, not as corrupt data', async () => {
    const art = await buildArtifact({ name: 'os', version: '1.0.0', deviceTypes: ['pi'], compression: 'zstd', signingKey: trusted.privateKeyPem, payloads: [{ type: 'rootfs-image', name: 'r', data: image }] });
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    // ZSTD_PROGRAM is read when the module loads: read in a child process with FLEET_ZSTD pointing nowhere.
    const path = join(dir, 'z.art');
    await writeFile(path, art);
    const script = `import { readArtifact } from './artifact/read-artifact'; import { createReadStream } from 'node:fs';
      readArtifact(createReadStream(${JSON.stringify(path)}), { trustedKeys: [${JSON.stringify(trusted.publicKeyPem)}] }).then(() => console.log('accepted'), (e) => console.log(e.code));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, FLEET_ZSTD: join(dir, 'none') }, cwd: join(import.meta.dirname, '..'), timeout: 20_000 });
    expect(stdout.trim()).toBe('zstd-unavailable');
  });
});
