import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readArtifact, type JsonValue, type Manifest, type PayloadInfo } from '../../../artifact';
import { buildArtifact, testKeys } from '../../../artifact/testing/fixtures';
import type { InstallContext } from '../installer';
import { createModuleInstaller } from './module-installer';

const FILE_INSTALL = join(import.meta.dirname, '..', '..', '..', 'resources', 'modules', 'file-install');

let root: string;
let modulesDir: string;
let calls: string;
let logs: string[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'module-installer-'));
  modulesDir = join(root, 'modules');
  calls = join(root, 'calls');
  await mkdir(modulesDir);
  logs = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A module that records each call and runs `cases` (sh case arms) on its state. */
async function recorder(cases = '', name = 'recorder', mode = 0o755): Promise<void> {
  const script = `#!/bin/sh
echo "$1 $(basename "$2") $(pwd -P | xargs basename)" >> '${calls}'
case $1 in
${cases}
esac
exit 0
`;
  await writeFile(join(modulesDir, name), script, { mode });
}
const recorded = async (): Promise<string[]> => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => l.split(' ')[0]);

function payloadCtx(data: Buffer, opts: { type?: string; name?: string; meta?: JsonValue; version?: string; controller?: AbortController } = {}): { ctx: InstallContext; bytes: () => Readable } {
  const sha256 = createHash('sha256').update(data).digest('hex');
  const payload: PayloadInfo = {
    index: 0, type: (opts.type ?? 'module:recorder') as PayloadInfo['type'], name: opts.name ?? 'fw.bin', file: 'payloads/0000', size: data.length, sha256,
    compression: 'none', storedSize: data.length, storedSha256: sha256, meta: opts.meta ?? null,
  };
  const manifest: Manifest = {
    name: 'modem-fw', version: opts.version ?? '1.0.0', group: 'modem', deviceTypes: ['sim-device'], provides: {}, depends: {}, clearsProvides: [], payloads: [payload], hooks: {},
  };
  const workDir = join(root, 'work', `${manifest.version}-${Math.random().toString(36).slice(2)}`);
  const signal = (opts.controller ?? new AbortController()).signal;
  return { ctx: { workDir, manifest, payload, log: (l) => logs.push(l), signal }, bytes: () => Readable.from([data]) };
}

describe('module installer', () => {
  it('drives the module through every state with the payload and header in its work folder', async () => {
    await recorder(`Download) cmp "$2/files/fw.bin" "$2/header/../files/fw.bin" && grep -q '"name": "modem-fw"' "$2/header/manifest.json" && [ "$(cat "$2/header/meta/port")" = ttyUSB2 ] || exit 9 ;;
NeedsArtifactReboot) echo No ;;
SupportsRollback) echo Yes ;;`);
    const inst = createModuleInstaller({ modulesDir });
    const data = Buffer.from('firmware v1\n');
    const { ctx, bytes } = payloadCtx(data, { meta: { port: 'ttyUSB2', nested: { no: 1 } } });
    await inst.store(ctx, bytes());
    const work = join(ctx.workDir, 'module');
    expect(await readFile(join(work, 'files', 'fw.bin'))).toEqual(data);
    expect(JSON.parse(await readFile(join(work, 'header', 'payload.json'), 'utf8')).sha256).toBe(ctx.payload.sha256);
    expect((await readFile(join(work, 'header', 'artifact_version'), 'utf8')).trim()).toBe('1.0.0');
    expect((await readdir(join(work, 'header', 'meta'))).sort()).toEqual(['port']);
    await inst.install(ctx);
    expect(await inst.needsReboot(ctx)).toBe(false);
    expect(await inst.supportsRollback(ctx)).toBe(true);
    await inst.commit(ctx);
    await inst.cleanup(ctx);
    expect(await recorded()).toEqual(['Download', 'ArtifactInstall', 'NeedsArtifactReboot', 'SupportsRollback', 'ArtifactCommit', 'Cleanup']);
    // Called with the module work folder as argument and as its working directory.
    expect((await readFile(calls, 'utf8')).split('\n')[0]).toBe('Download module module');
    expect(await readdir(ctx.workDir)).toEqual([]);
  });

  it.each([
    ['Yes', true],
    ['Automatic', true],
    ['No', false],
    ['', false],
  ])('reads NeedsArtifactReboot %j as %s', async (answer, expected) => {
    await recorder(`NeedsArtifactReboot) echo '${answer}' ;;`);
    const { ctx, bytes } = payloadCtx(Buffer.from('x'));
    const inst = createModuleInstaller({ modulesDir });
    await inst.store(ctx, bytes());
    expect(await inst.needsReboot(ctx)).toBe(expected);
  });

  it('refuses an answer that is not Yes, No or Automatic', async () => {
    await recorder(`NeedsArtifactReboot) echo maybe ;;
SupportsRollback) echo yes ;;`);
    const { ctx, bytes } = payloadCtx(Buffer.from('x'));
    const inst = createModuleInstaller({ modulesDir });
    await inst.store(ctx, bytes());
    await expect(inst.needsReboot(ctx)).rejects.toThrow('update module recorder NeedsArtifactReboot answered "maybe"; expected one of Yes, Automatic, No (or nothing for No)');
    await expect(inst.supportsRollback(ctx)).rejects.toThrow(/SupportsRollback answered "yes"/);
  });

  it('fails a step with the exit code and the end of the module stderr', async () => {
    await recorder(`ArtifactInstall) echo 'flashing block 1' >&2; echo 'modem did not answer' >&2; exit 2 ;;`);
    const { ctx, bytes } = payloadCtx(Buffer.from('x'));
    const inst = createModuleInstaller({ modulesDir });
    await inst.store(ctx, bytes());
    await expect(inst.install(ctx)).rejects.toThrow('update module recorder ArtifactInstall failed: exit 2; stderr: flashing block 1 | modem did not answer');
    expect(logs).toContain('module recorder ArtifactInstall: modem did not answer');
  });

  it('kills a module call that overstays its timeout, with its process group', async () => {
    const pidFile = join(root, 'bg.pid');
    await recorder(`ArtifactInstall) sleep 30 & echo $! > '${pidFile}'; sleep 30 ;;`);
    const { ctx, bytes } = payloadCtx(Buffer.from('x'));
    const inst = createModuleInstaller({ modulesDir, timeoutMs: 500 });
    await inst.store(ctx, bytes());
    const started = Date.now();
    await expect(inst.install(ctx)).rejects.toThrow('update module recorder ArtifactInstall failed: timed out after 0.5 s and was killed');
    expect(Date.now() - started).toBeLessThan(5000);
    const stat = await readFile(`/proc/${Number(await readFile(pidFile, 'utf8'))}/stat`, 'utf8').catch(() => 'gone');
    expect(stat === 'gone' || /^\d+ \(.*\) Z/.test(stat)).toBe(true);
  });

  it('stops a module call when the agent stops', async () => {
    await recorder(`ArtifactCommit) sleep 30 ;;`);
    const controller = new AbortController();
    const { ctx, bytes } = payloadCtx(Buffer.from('x'), { controller });
    const inst = createModuleInstaller({ modulesDir });
    await inst.store(ctx, bytes());
    setTimeout(() => controller.abort(), 200);
    await expect(inst.commit(ctx)).rejects.toThrow(/update module recorder ArtifactCommit: .* was stopped: the agent is stopping/);
  });

  it('says clearly when the module is missing or not executable, without reading the payload', async () => {
    const inst = createModuleInstaller({ modulesDir });
    const missing = payloadCtx(Buffer.from('x'), { type: 'module:modem-fw' });
    await expect(inst.store(missing.ctx, missing.bytes())).rejects.toThrow(`update module modem-fw is not installed (${join(modulesDir, 'modem-fw')} not found): install it on the device to take payloads of type module:modem-fw`);
    await recorder('', 'noexec', 0o644);
    const noexec = payloadCtx(Buffer.from('x'), { type: 'module:noexec' });
    await expect(inst.store(noexec.ctx, noexec.bytes())).rejects.toThrow(/update module noexec: .* is not executable \(chmod \+x it\)/);
  });

  it('takes its payload from a real signed artifact, and fails promptly there when the module is missing', async () => {
    await recorder();
    const [key] = testKeys();
    const data = Buffer.from('firmware '.repeat(10_000));
    const artifact = await buildArtifact({
      name: 'modem-fw', version: '2.0.0', deviceTypes: ['sim-device'], signingKey: key.privateKeyPem,
      payloads: [{ type: 'module:recorder', name: 'fw.bin', data }, { type: 'module:absent', name: 'other.bin', data: Buffer.from('x') }],
    });
    const inst = createModuleInstaller({ modulesDir });
    const workDirs: string[] = [];
    const read = readArtifact(Readable.from([artifact]), {
      trustedKeys: [key.publicKeyPem],
      onPayload: (payload, stream, manifest) => {
        const workDir = join(root, 'work', String(payload.index));
        workDirs.push(workDir);
        return inst.store({ workDir, manifest, payload, log: (l) => logs.push(l), signal: new AbortController().signal }, stream);
      },
    });
    await expect(read).rejects.toThrow(/update module absent is not installed/);
    expect(await readFile(join(workDirs[0], 'module', 'files', 'fw.bin'))).toEqual(data);
    expect(await recorded()).toEqual(['Download']);
  });

  it('refuses payload bytes that do not match the manifest before calling the module', async () => {
    await recorder();
    const { ctx } = payloadCtx(Buffer.from('firmware v1\n'));
    const inst = createModuleInstaller({ modulesDir });
    await expect(inst.store(ctx, Readable.from([Buffer.from('firmware v2\n')]))).rejects.toThrow(/got 12 bytes with sha256 .*, the manifest says 12 bytes/);
    expect(await recorded()).toEqual([]);
  });

  it('stores again from scratch after an interrupted attempt', async () => {
    await recorder();
    const data = Buffer.from('firmware v1\n');
    const { ctx, bytes } = payloadCtx(data);
    const files = join(ctx.workDir, 'module', 'files');
    await mkdir(files, { recursive: true });
    await writeFile(join(files, 'fw.bin.partial'), 'half');
    await writeFile(join(files, 'stale'), 'from a previous attempt');
    const inst = createModuleInstaller({ modulesDir });
    await inst.store(ctx, bytes());
    await inst.store(ctx, bytes());
    expect(await readdir(files)).toEqual(['fw.bin']);
    expect(await recorded()).toEqual(['Download', 'Download']);
  });

  it('rolls back only what was installed: ArtifactRollback when supported, then ArtifactFailure', async () => {
    await recorder(`SupportsRollback) echo Yes ;;`);
    const inst = createModuleInstaller({ modulesDir });
    const never = payloadCtx(Buffer.from('x'));
    await inst.store(never.ctx, never.bytes());
    await inst.rollback(never.ctx);
    expect(await recorded()).toEqual(['Download']);
    await rm(calls);
    const { ctx, bytes } = payloadCtx(Buffer.from('x'));
    await inst.store(ctx, bytes());
    await inst.install(ctx);
    await inst.rollback(ctx);
    expect(await recorded()).toEqual(['Download', 'ArtifactInstall', 'SupportsRollback', 'ArtifactRollback', 'ArtifactFailure']);
    await rm(calls);
    await recorder(`SupportsRollback) echo No ;;
ArtifactFailure) exit 3 ;;`);
    await inst.rollback(ctx);
    expect(await recorded()).toEqual(['SupportsRollback', 'ArtifactFailure']);
    expect(logs).toContain('update module recorder: does not support rollback; what it installed stays');
    expect(logs).toContain('update module recorder ArtifactFailure failed: exit 3');
  });
});

describe('the example module resources/modules/file-install', () => {
  let dest: string;
  beforeEach(async () => {
    dest = join(root, 'etc');
    await mkdir(dest);
    await copyFile(FILE_INSTALL, join(modulesDir, 'file-install'));
    await writeFile(join(modulesDir, 'file-install.conf'), `# where file-install puts files\ndest_dir=${dest}\n`);
  });
  const fileInstall = (data: string, meta: JsonValue = null) => payloadCtx(Buffer.from(data), { type: 'module:file-install', name: 'app.conf', meta });

  it('installs a file, keeps it on commit, and restores the old one on rollback', async () => {
    const inst = createModuleInstaller({ modulesDir });
    const v1 = fileInstall('v1\n');
    await inst.store(v1.ctx, v1.bytes());
    await expect(stat(join(dest, 'app.conf'))).rejects.toMatchObject({ code: 'ENOENT' }); // Download activates nothing
    await inst.install(v1.ctx);
    expect(await inst.needsReboot(v1.ctx)).toBe(false);
    await inst.commit(v1.ctx);
    await inst.cleanup(v1.ctx);
    expect(await readFile(join(dest, 'app.conf'), 'utf8')).toBe('v1\n');

    const v2 = fileInstall('v2\n');
    await inst.store(v2.ctx, v2.bytes());
    await inst.install(v2.ctx);
    await inst.install(v2.ctx); // re-run after a power cut: the backup still holds v1
    expect(await readFile(join(dest, 'app.conf'), 'utf8')).toBe('v2\n');
    expect(await inst.supportsRollback(v2.ctx)).toBe(true);
    await inst.rollback(v2.ctx);
    await inst.cleanup(v2.ctx);
    expect(await readFile(join(dest, 'app.conf'), 'utf8')).toBe('v1\n');
    expect((await stat(join(dest, 'app.conf'))).mode & 0o777).toBe(0o644);
    expect(await readdir(dest)).toEqual(['app.conf']);
  });

  it('takes destination, name and mode from the payload meta, and removes a new file on rollback', async () => {
    const other = join(root, 'opt');
    await mkdir(other);
    const inst = createModuleInstaller({ modulesDir });
    const p = fileInstall('#!/bin/sh\n', { dest_dir: other, filename: 'tool', mode: '0755' });
    await inst.store(p.ctx, p.bytes());
    await inst.install(p.ctx);
    expect((await stat(join(other, 'tool'))).mode & 0o777).toBe(0o755);
    await inst.rollback(p.ctx);
    expect(await readdir(other)).toEqual([]);
  });

  it('fails Download when the destination folder does not exist', async () => {
    const inst = createModuleInstaller({ modulesDir });
    const p = fileInstall('v1\n', { dest_dir: join(root, 'nowhere') });
    await expect(inst.store(p.ctx, p.bytes())).rejects.toThrow(`update module file-install Download failed: exit 1; stderr: file-install: destination folder ${join(root, 'nowhere')} does not exist`);
  });
});
