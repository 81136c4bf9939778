import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packTree, readArtifact, type JsonValue, type Manifest, type PayloadInfo } from '../../../artifact';
import { buildArtifact, testKeys } from '../../../artifact/testing/fixtures';
import { END_OF_ARCHIVE } from '../../../artifact/artifact-tar';
import { encodeHeader, paddingFor } from '../../../artifact/tar-header';
import type { InstallContext, PayloadInstaller } from '../installer';
import { createAppInstaller } from './app-installer';

let root: string;
let appsDir: string;
let logs: string[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'app-installer-'));
  appsDir = join(root, 'apps');
  logs = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Release {
  ctx: InstallContext;
  bytes: Buffer;
}

/** An app payload of `files` (name -> content) as the engine would hand it over. */
async function release(version: string, files: Record<string, string>, opts: { name?: string; meta?: JsonValue; deployment?: string } = {}): Promise<Release> {
  const src = join(root, 'src', `${version}-${Math.random().toString(36).slice(2)}`);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(src, name, '..'), { recursive: true });
    await writeFile(join(src, name), content);
  }
  const bytes = Buffer.concat(await packTree(src).toArray());
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const payload: PayloadInfo = {
    index: 0, type: 'app', name: 'app.tar', file: 'payloads/0000', size: bytes.length, sha256,
    compression: 'none', storedSize: bytes.length, storedSha256: sha256, meta: opts.meta ?? { format: 'ustar', root: 'web' },
  };
  const manifest: Manifest = {
    name: opts.name ?? 'web', version, group: 'web', deviceTypes: ['sim-device'], provides: {}, depends: {}, clearsProvides: [], payloads: [payload], hooks: {},
  };
  const workDir = join(root, 'work', opts.deployment ?? `${version}-${sha256.slice(0, 8)}`);
  await mkdir(workDir, { recursive: true });
  return { ctx: { workDir, manifest, payload, log: (l) => logs.push(l), signal: new AbortController().signal }, bytes };
}

const stream = (b: Buffer): Readable => Readable.from([b.subarray(0, 700), b.subarray(700)]);
const appDir = (app = 'web'): string => join(appsDir, app);
const current = async (app = 'web'): Promise<string> => readlink(join(appDir(app), 'current'));
const releases = async (app = 'web'): Promise<string[]> => (await readdir(join(appDir(app), 'releases'))).sort();
const served = async (file: string, app = 'web'): Promise<string> => readFile(join(appDir(app), 'current', file), 'utf8');

async function deploy(inst: PayloadInstaller, r: Release): Promise<void> {
  await inst.store(r.ctx, stream(r.bytes));
  await inst.install(r.ctx);
  await inst.commit(r.ctx);
  await inst.cleanup(r.ctx);
}

describe('app installer', () => {
  it('stores a release without activating it, then switches current atomically', async () => {
    const inst = createAppInstaller({ appsDir });
    const v1 = await release('1.0.0', { 'index.html': 'one', 'bin/run': '#!/bin/sh\n' });
    await inst.store(v1.ctx, stream(v1.bytes));
    expect(await releases()).toEqual(['1.0.0']);
    await expect(lstat(join(appDir(), 'current'))).rejects.toMatchObject({ code: 'ENOENT' });
    await inst.install(v1.ctx);
    expect(await current()).toBe('releases/1.0.0');
    expect(await served('index.html')).toBe('one');
    expect(await served('bin/run')).toBe('#!/bin/sh\n');
    expect(await inst.needsReboot(v1.ctx)).toBe(false);
    expect(await inst.supportsRollback(v1.ctx)).toBe(true);
    await inst.commit(v1.ctx);
    await inst.cleanup(v1.ctx);
    expect(await releases()).toEqual(['1.0.0']);
  });

  it('rolls back to the previous release and cleanup drops the failed one', async () => {
    const inst = createAppInstaller({ appsDir, durable: false });
    await deploy(inst, await release('1.0.0', { 'index.html': 'one' }));
    const v2 = await release('2.0.0', { 'index.html': 'two' });
    await inst.store(v2.ctx, stream(v2.bytes));
    await inst.install(v2.ctx);
    expect(await served('index.html')).toBe('two');
    await inst.rollback(v2.ctx);
    expect(await current()).toBe('releases/1.0.0');
    expect(await served('index.html')).toBe('one');
    await inst.rollback(v2.ctx); // a re-run after a power cut changes nothing
    expect(await current()).toBe('releases/1.0.0');
    await inst.cleanup(v2.ctx);
    expect(await releases()).toEqual(['1.0.0']);
  });

  it('removes current on rollback of a first install, and leaves everything alone when install never ran', async () => {
    const inst = createAppInstaller({ appsDir });
    const v1 = await release('1.0.0', { a: 'a' });
    await inst.store(v1.ctx, stream(v1.bytes));
    await inst.rollback(v1.ctx);
    expect(await releases()).toEqual(['1.0.0']);
    await inst.install(v1.ctx);
    await inst.rollback(v1.ctx);
    await expect(lstat(join(appDir(), 'current'))).rejects.toMatchObject({ code: 'ENOENT' });
    await inst.cleanup(v1.ctx);
    expect(await releases()).toEqual([]);
  });

  it('commit keeps the current and the previous release (or keepReleases)', async () => {
    const inst = createAppInstaller({ appsDir, durable: false });
    for (const v of ['1.0.0', '2.0.0', '10.0.0', '3.0.0']) await deploy(inst, await release(v, { v }));
    expect(await releases()).toEqual(['10.0.0', '3.0.0']); // 3.0.0 runs, 10.0.0 was the previous one
    expect(await current()).toBe('releases/3.0.0');
    const keep3 = createAppInstaller({ appsDir: join(root, 'apps3'), keepReleases: 3, durable: false });
    appsDir = join(root, 'apps3');
    for (const v of ['1.0.0', '2.0.0', '3.0.0', '4.0.0', '5.0.0']) await deploy(keep3, await release(v, { v }));
    expect(await releases()).toEqual(['3.0.0', '4.0.0', '5.0.0']);
  });

  it('re-runs store after a power cut left a partial and a half-written release behind', async () => {
    const inst = createAppInstaller({ appsDir });
    await deploy(inst, await release('1.0.0', { 'index.html': 'one' }));
    const v2 = await release('2.0.0', { 'index.html': 'two', 'lib/x.js': 'x' });
    const rel = join(appDir(), 'releases');
    await mkdir(join(rel, '2.0.0.partial', 'ro'), { recursive: true });
    await writeFile(join(rel, '2.0.0.partial', 'ro', 'junk'), 'junk');
    await chmod(join(rel, '2.0.0.partial', 'ro'), 0o555);
    await mkdir(join(rel, '2.0.0'));
    await writeFile(join(rel, '2.0.0', 'stale'), 'from an earlier attempt');
    await inst.store(v2.ctx, stream(v2.bytes));
    expect((await readdir(join(rel, '2.0.0'))).sort()).toEqual(['index.html', 'lib']);
    expect(await releases()).toEqual(['1.0.0', '2.0.0']);
    expect(await current()).toBe('releases/1.0.0');
  });

  it('re-runs install after a power cut: a stray current.new, a switch already done', async () => {
    const inst = createAppInstaller({ appsDir });
    await deploy(inst, await release('1.0.0', { 'index.html': 'one' }));
    const v2 = await release('2.0.0', { 'index.html': 'two' });
    await inst.store(v2.ctx, stream(v2.bytes));
    await symlink('releases/nowhere', join(appDir(), 'current.new'));
    await inst.install(v2.ctx);
    await inst.install(v2.ctx); // the engine did not get to persist "installed"
    expect(await current()).toBe('releases/2.0.0');
    expect((await readdir(appDir())).sort()).toEqual(['current', 'releases']);
    await inst.rollback(v2.ctx);
    expect(await served('index.html')).toBe('one'); // the previous release was remembered once, before the first switch
  });

  it('stops storing when the agent stops', async () => {
    const inst = createAppInstaller({ appsDir });
    const v1 = await release('1.0.0', { a: 'a' });
    const controller = new AbortController();
    controller.abort();
    await expect(inst.store({ ...v1.ctx, signal: controller.signal }, stream(v1.bytes))).rejects.toThrow('app payload 0: storing stopped, the agent is stopping');
    expect(await releases()).toEqual(['1.0.0.partial']);
    await inst.cleanup(v1.ctx);
    expect(await releases()).toEqual([]);
  });

  it('install refuses to run before store finished', async () => {
    const inst = createAppInstaller({ appsDir });
    const v1 = await release('1.0.0', { a: 'a' });
    await expect(inst.install(v1.ctx)).rejects.toThrow(/nothing stored yet/);
  });

  it('refuses bytes that do not match the manifest, leaving what runs untouched', async () => {
    const inst = createAppInstaller({ appsDir });
    await deploy(inst, await release('1.0.0', { 'index.html': 'one' }));
    const v2 = await release('2.0.0', { 'index.html': 'two' });
    const tampered = Buffer.from(v2.bytes);
    tampered[513] ^= 1; // inside index.html's content
    await expect(inst.store(v2.ctx, stream(tampered))).rejects.toThrow(/sha256/);
    // The extractor stops at the first end-of-archive block; the bytes after it are checked all the same.
    const tail = Buffer.from(v2.bytes);
    tail[tail.length - 1] ^= 1;
    await expect(inst.store(v2.ctx, stream(tail))).rejects.toThrow(/sha256/);
    // A stream the artifact reader fails (its own hash check) fails store too.
    const failing = Readable.from((async function* () {
      yield v2.bytes.subarray(0, 600);
      throw new Error('payload-hash-mismatch');
    })());
    await expect(inst.store(v2.ctx, failing)).rejects.toThrow(/payload-hash-mismatch/);
    expect(await current()).toBe('releases/1.0.0');
    await inst.rollback(v2.ctx);
    await inst.cleanup(v2.ctx);
    expect(await releases()).toEqual(['1.0.0']);
    expect(await served('index.html')).toBe('one');
  });

  it('refuses a tree entry that escapes the release folder', async () => {
    const inst = createAppInstaller({ appsDir });
    const v1 = await release('1.0.0', { a: 'a' });
    const data = Buffer.from('evil');
    const tar = Buffer.concat([encodeHeader({ name: '../../../evil', size: data.length, mode: 0o644, mtime: 0, type: 'file', linkname: '' }), data, Buffer.alloc(paddingFor(data.length)), END_OF_ARCHIVE]);
    const sha256 = createHash('sha256').update(tar).digest('hex');
    const ctx = { ...v1.ctx, payload: { ...v1.ctx.payload, size: tar.length, sha256, storedSize: tar.length, storedSha256: sha256 } };
    await expect(inst.store(ctx, stream(tar))).rejects.toThrow(/not a plain relative path/);
    await inst.cleanup(ctx);
    expect(await readdir(root)).not.toContain('evil');
    expect(await readdir(appsDir)).toEqual(['web']);
    expect(await releases()).toEqual([]);
  });

  it('reinstalls the running version beside it, never into it', async () => {
    const inst = createAppInstaller({ appsDir });
    await deploy(inst, await release('1.0.0', { 'index.html': 'one' }));
    const again = await release('1.0.0', { 'index.html': 'one, fixed' });
    await inst.store(again.ctx, stream(again.bytes));
    expect(await served('index.html')).toBe('one');
    await inst.install(again.ctx);
    expect(await current()).toBe(`releases/1.0.0@${again.ctx.payload.sha256.slice(0, 12)}`);
    expect(await served('index.html')).toBe('one, fixed');
    await inst.rollback(again.ctx);
    expect(await current()).toBe('releases/1.0.0');
  });

  it('names the app after meta.app, else the artifact, and refuses a meta.app that is a path', async () => {
    const inst = createAppInstaller({ appsDir });
    await deploy(inst, await release('1.0.0', { a: 'a' }, { name: 'bundle', meta: { app: 'dashboard' } }));
    await deploy(inst, await release('1.0.0', { a: 'a' }, { name: 'bundle', meta: null }));
    expect((await readdir(appsDir)).sort()).toEqual(['bundle', 'dashboard']);
    const bad = await release('1.0.0', { a: 'a' }, { meta: { app: '../etc' } });
    await expect(inst.store(bad.ctx, stream(bad.bytes))).rejects.toThrow(/meta.app "..\/etc" is not a plain name/);
  });

  it('refuses to replace a current that is a real folder', async () => {
    const inst = createAppInstaller({ appsDir });
    await mkdir(join(appDir(), 'current'), { recursive: true });
    const v1 = await release('1.0.0', { a: 'a' });
    await expect(inst.store(v1.ctx, stream(v1.bytes))).rejects.toThrow(/current is not a symlink: move it away/);
    expect((await stat(join(appDir(), 'current'))).isDirectory()).toBe(true);
  });

  it('installs from a real signed artifact, and a flipped payload byte activates nothing', async () => {
    const inst = createAppInstaller({ appsDir, durable: false });
    await deploy(inst, await release('1.0.0', { 'index.html': 'release one' }));
    const [key] = testKeys();
    const src = join(root, 'tree-2');
    await mkdir(join(src, 'static'), { recursive: true });
    await writeFile(join(src, 'index.html'), 'release two');
    await writeFile(join(src, 'static', 'app.js'), 'x'.repeat(100_000));
    const data = Buffer.concat(await packTree(src).toArray());
    const artifact = await buildArtifact({
      name: 'web', version: '2.0.0', deviceTypes: ['sim-device'], compression: 'none', signingKey: key.privateKeyPem,
      payloads: [{ type: 'app', name: 'app.tar', data, meta: { format: 'ustar', root: 'tree-2' } }],
    });
    const workDir = join(root, 'work', 'artifact');
    await mkdir(workDir, { recursive: true });
    const ctxOf = (manifest: Manifest, payload: PayloadInfo): InstallContext => ({ workDir, manifest, payload, log: (l) => logs.push(l), signal: new AbortController().signal });
    const read = (bytes: Buffer) => {
      let ctx: InstallContext | undefined;
      const chunks = Array.from({ length: Math.ceil(bytes.length / 4096) }, (_, i) => bytes.subarray(i * 4096, (i + 1) * 4096));
      const done = readArtifact(Readable.from(chunks), { trustedKeys: [key.publicKeyPem], onPayload: (p, s, m) => inst.store((ctx = ctxOf(m, p)), s) });
      return { done, ctx: () => ctx! };
    };

    const tampered = Buffer.from(artifact);
    tampered[tampered.indexOf('release two') + 3] ^= 1;
    const bad = read(tampered);
    await expect(bad.done).rejects.toThrow(/payload 0 \(payloads\/0000.bin\): sha256 of the stored bytes/);
    await inst.rollback(bad.ctx());
    await inst.cleanup(bad.ctx());
    expect(await releases()).toEqual(['1.0.0']);
    expect(await served('index.html')).toBe('release one');

    const good = read(artifact);
    await good.done;
    await inst.install(good.ctx());
    await inst.commit(good.ctx());
    expect(await served('index.html')).toBe('release two');
    expect((await stat(join(appDir(), 'current', 'static', 'app.js'))).size).toBe(100_000);
  });
});
