// fleet-artifact as a child process, the way an operator runs it.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEntries } from './testing/fixtures';

const BIN = join(import.meta.dirname, '..', 'bin', 'fleet-artifact.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return runWith({}, ...args);
}

function runWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, timeout: 20_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'artifact-cli-'));
  await writeFile(join(dir, 'rootfs.img'), Buffer.alloc(300_000, 3));
  await mkdir(join(dir, 'app', 'bin'), { recursive: true });
  await writeFile(join(dir, 'app', 'bin', 'run'), '#!/bin/sh\n');
  await chmod(join(dir, 'app', 'bin', 'run'), 0o755);
  await writeFile(join(dir, 'fw.bin'), 'firmware');
  await writeFile(join(dir, 'hook.sh'), '#!/bin/sh\nexit 0\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fleet-artifact', () => {
  it('keygen, write, inspect --json, verify with the right and a wrong key', { timeout: 60_000 }, async () => {
    expect((await run('keygen', '--out', 'release')).code).toBe(0);
    expect(((await stat(join(dir, 'release.key'))).mode & 0o777).toString(8)).toBe('600');
    expect(await readFile(join(dir, 'release.pub'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    await run('keygen', '--out', 'other');

    const w = await run('write', 'rootfs-image', 'rootfs.img', '--name', 'os', '--version', '1.4.0', '--device-type', 'pi4', '--device-type', 'pi5', '--provides', 'rootfs-image.checksum=abc', '--key', 'release.key', '-o', 'os.art');
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);

    const inspected = await run('inspect', '--json', 'os.art');
    expect(inspected.code).toBe(0);
    const info = JSON.parse(inspected.stdout);
    expect(info.manifest).toMatchObject({ name: 'os', version: '1.4.0', group: 'os', deviceTypes: ['pi4', 'pi5'], provides: { 'rootfs-image.checksum': 'abc' } });
    expect(info.manifest.payloads[0]).toMatchObject({ type: 'rootfs-image', name: 'rootfs.img', size: 300_000, compression: 'gzip' });
    expect(info.signatureStatus).toBe('not-checked');

    const ok = await run('verify', '--key', 'release.pub', 'os.art');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK os\.art: os 1\.4\.0/);

    const wrong = await run('verify', '--key', 'other.pub', 'os.art');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/verify FAILED \(untrusted-key\).*not trusted/);
    expect(wrong.stderr).not.toMatch(/\n\s+at /);

    // One flipped byte in the middle of the payload.
    const bytes = await readFile(join(dir, 'os.art'));
    const payload = listEntries(bytes).at(-1)!;
    bytes[payload.dataOffset + Math.floor(payload.size / 2)] ^= 0xff;
    await writeFile(join(dir, 'bad.art'), bytes);
    const bad = await run('verify', '--key', 'release.pub', 'bad.art');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\(payload-hash-mismatch\): bad\.art: payload 0 \(payloads\/0000\.gz\): sha256 of the stored bytes/);
  });

  it('writes an unsigned app artifact (zstd), signs it, and a module artifact with a hook', { timeout: 60_000 }, async () => {
    await run('keygen', '--out', 'k');
    expect((await run('write', 'app', 'app', '--name', 'web', '--version', '2.0.0', '--device-type', 'pi4', '--compression', 'zstd', '-o', 'app.art')).code).toBe(0);
    const unsigned = await run('verify', '--key', 'k.pub', 'app.art');
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain('(unsigned)');
    expect((await run('sign', '--key', 'k.key', 'app.art', '-o', 'app.signed.art')).code).toBe(0);
    expect((await run('verify', '--key', 'k.pub', 'app.signed.art')).code).toBe(0);

    const m = await run('write', 'module', 'modem', 'fw.bin', '--hook', 'Install_Enter=hook.sh', '--name', 'fw', '--version', '3', '--device-type', 'pi4', '--depends', 'modem.model=EG25', '--key', 'k.key', '-o', 'fw.art');
    expect(m.code).toBe(0);
    const human = await run('inspect', '--key', 'k.pub', 'fw.art');
    expect(human.stdout).toContain('module:modem  fw.bin');
    expect(human.stdout).toContain('Install_Enter -> payload 1');
    expect(human.stdout).toContain('(trusted)');
  });

  it('usage errors exit 2, expected failures exit 1, both without a stack trace', { timeout: 60_000 }, async () => {
    const noZstd = { FLEET_ZSTD: join(dir, 'no-such-zstd') };
    const results = await Promise.all([
      run('write', 'rootfs-image', 'rootfs.img', '-o', 'x.art'),
      run('verify', 'os.art'),
      run('frobnicate'),
      run('keygen', '--out', 'release'),
      run('verify', '--key', 'release.pub', 'missing.art'),
      runWith(noZstd, 'write', 'rootfs-image', 'rootfs.img', '--name', 'z', '--version', '1', '--device-type', 'pi4', '--compression', 'zstd', '-o', 'z.art'),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 1, 1, 1]);
    expect(results[5].stderr).toMatch(/zstd payloads need the zstd program.*apt-get install zstd.*\(zstd-unavailable\)/);
    await expect(stat(join(dir, 'z.art'))).rejects.toThrow();
    expect(results[0].stderr).toContain('--device-type is required');
    expect(results[3].stderr).toContain('already exists');
    expect(results[4].stderr).toContain('missing.art: no such file');
    for (const r of results) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
