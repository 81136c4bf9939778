import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unary } from '../src-main/services/hub-client/hub-connection';
import { downloadTempPath } from './remote/file-download';
import { transferIdFor } from './remote/file-upload';
import { startDelayProxy } from '../tests/support/delay-proxy';
import { startThrottledProxy } from './testing/throttled-proxy';
import { startRemoteSim, type RemoteSim } from './testing/remote-sim';
import { repoRoot, tempDir, waitFor } from '../tests/support/processes';

// End to end: the real bin/fleetctl.js (shell, cp, mkdir, port-forward) as a child
// process against a real fleet-hub process relaying to a real
// `fleet-agent sim` process with remote sessions enabled, all on loopback.
// One hub and one simulated device for the whole file.

let sim: RemoteSim;
let device: string;
const home = tempDir('fleetctl-remote-home');

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs fleetctl with `input` on its stdin (none: /dev/null), killed after 30 s. */
function fleetctl(args: string[], input?: Buffer | string, flags = sim.flags): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), ...flags, ...args], {
    cwd: repoRoot,
    env: { ...clean, FLEETCTL_CONFIG: join(home.path, 'config.json'), NO_COLOR: '1' },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin!.end(input);
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  sim = await startRemoteSim({ maxFileBytes: 16 * 1024 * 1024 });
  device = sim.deviceIds[0];
}, 120_000);

afterAll(async () => {
  await sim?.close();
  home.remove();
}, 30_000);

describe('fleetctl shell, cp, mkdir and port-forward through a real hub and agent', { timeout: 60_000 }, () => {
  it('shell -- COMMAND pipes stdin, stdout and stderr byte for byte and exits with its status', async () => {
    const input = randomBytes(300_000);
    const run = await fleetctl(['shell', device, '--', 'cat; printf done >&2; exit 7'], input);
    expect(run.stderr).toBe('done');
    expect(run.code).toBe(7);
    expect(sha(run.stdout)).toBe(sha(input));

    const killed = await fleetctl(['shell', device, '--', 'kill', '-TERM', '$$']);
    expect(killed.code).toBe(143);
  });

  it('shell -- COMMAND ends the command on Ctrl-C and exits 130', async () => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), ...sim.flags, 'shell', device, '--', 'echo started; sleep 30'], {
      cwd: repoRoot,
      env: { ...clean, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor('the command to start', () => out.includes('started'), 20_000);
      const t0 = Date.now();
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('shell DEVICE on a terminal: raw mode, the size followed on resize, the exit status kept', async () => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
    const term = spawnPty(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), ...sim.flags, 'shell', device], {
      cols: 90,
      rows: 20,
      cwd: repoRoot,
      env: { ...clean, FLEETCTL_CONFIG: join(home.path, 'config.json'), NO_COLOR: '1' } as Record<string, string>,
    });
    let screen = '';
    term.onData((d) => (screen += d));
    const exited = new Promise<number>((r) => term.onExit(({ exitCode }) => r(exitCode)));
    try {
      await waitFor('the banner', () => screen.includes(`connected to ${device}`), 20_000);
      term.write('echo hello-$((6*7)); stty size\r');
      await waitFor('the echo and the size', () => screen.includes('hello-42') && screen.includes('20 90'), 10_000);
      term.resize(100, 30);
      await new Promise((r) => setTimeout(r, 300));
      term.write('stty size\r');
      await waitFor('the new size', () => screen.includes('30 100'), 10_000);
      // Ctrl-C reaches the device's shell (raw mode), it does not end fleetctl.
      term.write('sleep 30\r');
      await new Promise((r) => setTimeout(r, 300));
      term.write('\x03');
      term.write('exit 3\r');
      expect(await exited).toBe(3);
      expect(screen).toContain(`connection to ${device} closed`);
    } finally {
      term.kill();
    }
  });

  it('cp uploads into a folder and downloads back, sha256 checked, mode kept', async () => {
    const local = join(home.path, 'up.bin');
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(local, bytes, { mode: 0o640 });
    const up = await fleetctl(['cp', local, `${device}:${sim.filesRoot}`, '--progress']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/up\.bin +100% {2}3\.0 MiB \/ 3\.0 MiB {2}[\d.]+ MB\/s {2}ETA 0:00\n/);
    expect(up.stderr).toContain(`${device}:${sim.filesRoot}/up.bin  ${bytes.length} bytes  sha256 ${sha(bytes)}\n`);
    expect(sha(readFileSync(join(sim.filesRoot, 'up.bin')))).toBe(sha(bytes));
    expect(statSync(join(sim.filesRoot, 'up.bin')).mode & 0o777).toBe(0o640);

    const back = join(home.path, 'back');
    mkdirSync(back);
    const down = await fleetctl(['cp', `${device}:${sim.filesRoot}/up.bin`, `${back}/`, '--json']);
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout.toString())).toEqual({ path: join(back, 'up.bin'), size: bytes.length, sha256: sha(bytes), resumedFrom: 0 });
    expect(sha(readFileSync(join(back, 'up.bin')))).toBe(sha(bytes));
    // Nothing but the file: the temporary name was renamed away.
    expect(readdirSync(back)).toEqual(['up.bin']);
  });

  it('cp resumes an upload a cut left behind on the device', async () => {
    const local = join(home.path, 'resume.bin');
    const bytes = randomBytes(1024 * 1024);
    writeFileSync(local, bytes);
    // What a cut attempt of this very file leaves: its first 400,000 bytes under the device's temporary name.
    const id = transferIdFor(local, statSync(local));
    // (The device's documented temporary name: .NAME.fleet-upload-SIZE-TRANSFERID, docs/remote-sessions.md.)
    writeFileSync(join(sim.filesRoot, `.resume.bin.fleet-upload-${bytes.length}-${id}`), bytes.subarray(0, 400_000));
    const run = await fleetctl(['cp', local, `${device}:${sim.filesRoot}/resume.bin`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('(resumed at byte 400000)');
    expect(sha(readFileSync(join(sim.filesRoot, 'resume.bin')))).toBe(sha(bytes));
    expect(readdirSync(sim.filesRoot).filter((n) => n.includes('fleet-upload'))).toEqual([]);
  });

  it('cp resumes a download from the bytes a cut left here, and starts over when they are of another version', async () => {
    const bytes = randomBytes(2 * 1024 * 1024 + 5);
    const remote = join(sim.filesRoot, 'dl-resume.bin');
    writeFileSync(remote, bytes, { mode: 0o604 });
    const dir = join(home.path, 'dl-resume');
    mkdirSync(dir);
    const target = join(dir, 'dl-resume.bin');
    const temp = downloadTempPath(target, device, remote);
    const kept: Array<[Buffer, number]> = [
      [bytes.subarray(0, 700_000), 700_000], // what a cut leaves: resumed
      [randomBytes(700_000), 0], // another version of the file: the sha256 differs, started over
      [randomBytes(3 * 1024 * 1024), 0], // longer than the device's file: started over
    ];
    for (const [prefix, resumedFrom] of kept) {
      writeFileSync(temp, prefix);
      const run = await fleetctl(['cp', `${device}:${remote}`, target, '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.toString())).toEqual({ path: target, size: bytes.length, sha256: sha(bytes), resumedFrom });
      expect(sha(readFileSync(target))).toBe(sha(bytes));
      expect(statSync(target).mode & 0o777).toBe(0o604);
      expect(readdirSync(dir)).toEqual(['dl-resume.bin']);
    }
  });

  it('cp --retries 0: a download cut by the network keeps its bytes and the same command resumes it', async () => {
    const bytes = randomBytes(6 * 1024 * 1024);
    const remote = join(sim.filesRoot, 'dl-cut.bin');
    writeFileSync(remote, bytes);
    const target = join(home.path, 'dl-cut.bin');
    const temp = downloadTempPath(target, device, remote);
    const proxy = await startThrottledProxy(sim.hubPort, 2_000_000);
    try {
      const running = fleetctl(['cp', `${device}:${remote}`, target, '--retries', '0'], undefined, sim.flagsVia(proxy.address));
      await waitFor('a part of the download written', () => existsSync(temp) && statSync(temp).size >= 1024 * 1024, 20_000, 20);
      proxy.cut();
      const cut = await running;
      expect(cut.code).not.toBe(0);
      expect(cut.stderr).toContain(`run the same command again to resume (the bytes received are kept in ${temp})`);
      expect(existsSync(target)).toBe(false);
      const keptBytes = statSync(temp).size;
      expect(keptBytes).toBeGreaterThanOrEqual(1024 * 1024);

      const again = await fleetctl(['cp', `${device}:${remote}`, target, '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout.toString())).toMatchObject({ sha256: sha(bytes), resumedFrom: keptBytes });
      expect(sha(readFileSync(target))).toBe(sha(bytes));
      expect(existsSync(temp)).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('cp goes on by itself after a network cut: each try resumes where the last stopped (upload and download)', async () => {
    const bytes = randomBytes(6 * 1024 * 1024);
    const local = join(home.path, 'auto-up.bin');
    writeFileSync(local, bytes);
    const proxy = await startThrottledProxy(sim.hubPort, 2_000_000);
    const viaProxy = sim.flagsVia(proxy.address);
    try {
      const deviceTemp = () => readdirSync(sim.filesRoot).find((n) => n.startsWith('.auto-up.bin.fleet-upload'));
      const up = fleetctl(['cp', local, `${device}:${sim.filesRoot}/auto-up.bin`, '--json'], undefined, viaProxy);
      await waitFor('a part of the upload on the device', () => {
        const t = deviceTemp();
        return t !== undefined && statSync(join(sim.filesRoot, t)).size >= 1024 * 1024;
      }, 20_000, 20);
      proxy.cut(); // the proxy keeps listening: the next try gets through
      const upped = await up;
      expect(upped.code, upped.stderr).toBe(0);
      expect(upped.stderr).toMatch(/^fleetctl: cp: .+\nfleetctl: cp: resuming in 1 s \(try 2 of 6; Ctrl-C stops\)\n/);
      const upResult = JSON.parse(upped.stdout.toString()) as { sha256: string; resumedFrom: number };
      expect(upResult.sha256).toBe(sha(bytes));
      expect(upResult.resumedFrom).toBeGreaterThanOrEqual(1024 * 1024);
      expect(sha(readFileSync(join(sim.filesRoot, 'auto-up.bin')))).toBe(sha(bytes));
      expect(deviceTemp()).toBeUndefined();

      const target = join(home.path, 'auto-down.bin');
      const temp = downloadTempPath(target, device, join(sim.filesRoot, 'auto-up.bin'));
      const down = fleetctl(['cp', `${device}:${sim.filesRoot}/auto-up.bin`, target, '--json'], undefined, viaProxy);
      await waitFor('a part of the download here', () => existsSync(temp) && statSync(temp).size >= 1024 * 1024, 20_000, 20);
      proxy.cut();
      const downed = await down;
      expect(downed.code, downed.stderr).toBe(0);
      expect(downed.stderr).toMatch(/resuming in 1 s \(try 2 of 6/);
      expect((JSON.parse(downed.stdout.toString()) as { resumedFrom: number }).resumedFrom).toBeGreaterThanOrEqual(1024 * 1024);
      expect(sha(readFileSync(target))).toBe(sha(bytes));
      expect(existsSync(temp)).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('cp: Ctrl-C while waiting to resume ends the copy (130) and says what the device keeps', async () => {
    const local = join(home.path, 'wait-stop.bin');
    writeFileSync(local, randomBytes(6 * 1024 * 1024));
    const proxy = await startThrottledProxy(sim.hubPort, 2_000_000);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), ...sim.flagsVia(proxy.address), 'cp', local, `${device}:${sim.filesRoot}/wait-stop.bin`], { cwd: repoRoot, env: { ...clean, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const temp = () => readdirSync(sim.filesRoot).find((n) => n.startsWith('.wait-stop.bin.fleet-upload'));
      await waitFor('a part of the upload on the device', () => temp() !== undefined && statSync(join(sim.filesRoot, temp()!)).size > 0, 20_000, 20);
      await proxy.close(); // cut, and nothing listens any more: every try fails, fleetctl waits longer each time
      await waitFor('fleetctl waiting to resume', () => /resuming in \d+ s/.test(err), 20_000, 20);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(err).toContain('cancelled; the device keeps the bytes it received (resumable; removed after 24 h)');
      expect(temp()).toBeDefined();
    } finally {
      child.kill('SIGKILL');
      await proxy.close().catch(() => undefined);
    }
  });

  it('cp: Ctrl-C cancels, exits 130 and leaves no partial file on the device (upload) or here (download)', async () => {
    // Three times the device's upload window (4 MiB): at 1 MB/s the eof is never in flight when Ctrl-C comes.
    const bytes = randomBytes(12 * 1024 * 1024);
    const local = join(home.path, 'ctrl-c.bin');
    writeFileSync(local, bytes);
    const proxy = await startThrottledProxy(sim.hubPort, 1_000_000);
    const viaProxy = sim.flagsVia(proxy.address);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
    const interrupt = async (args: string[], partial: () => boolean): Promise<{ code: number | null; out: string }> => {
      const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), ...viaProxy, ...args], { cwd: repoRoot, env: { ...clean, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      try {
        await waitFor('a partial file', partial, 20_000, 20);
        child.kill('SIGINT');
        return { code: await exited, out };
      } finally {
        child.kill('SIGKILL');
      }
    };
    const deviceTemps = () => readdirSync(sim.filesRoot).filter((n) => n.startsWith('.ctrl-c.bin.fleet-upload'));
    try {
      const up = await interrupt(['cp', local, `${device}:${sim.filesRoot}/ctrl-c.bin`], () => deviceTemps().some((n) => statSync(join(sim.filesRoot, n)).size > 0));
      expect(up.code, up.out).toBe(130);
      expect(up.out).toContain('cancelled; nothing was kept');
      await waitFor('the device removed its temporary file', () => deviceTemps().length === 0, 10_000);
      expect(existsSync(join(sim.filesRoot, 'ctrl-c.bin'))).toBe(false);

      writeFileSync(join(sim.filesRoot, 'ctrl-c-down.bin'), bytes);
      const target = join(home.path, 'ctrl-c-down.bin');
      const temp = downloadTempPath(target, device, join(sim.filesRoot, 'ctrl-c-down.bin'));
      const down = await interrupt(['cp', `${device}:${sim.filesRoot}/ctrl-c-down.bin`, target], () => existsSync(temp) && statSync(temp).size > 0);
      expect(down.code, down.out).toBe(130);
      expect(existsSync(temp)).toBe(false);
      expect(existsSync(target)).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('cp -r copies a folder up (the device makes its folders) and back down, modes kept', async () => {
    const src = join(home.path, 'tree');
    mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
    mkdirSync(join(src, 'empty'), { mode: 0o750 });
    const files: Array<[string, Buffer, number]> = [
      ['a.txt', Buffer.from('alpha\n'), 0o640],
      ['sub/b.bin', randomBytes(300_000), 0o700],
      ['sub/deeper/c', randomBytes(1000), 0o600],
    ];
    for (const [rel, body, mode] of files) writeFileSync(join(src, rel), body, { mode });
    const up = await fleetctl(['cp', '-r', src, `${device}:${sim.filesRoot}/`]);
    expect(up.code, up.stderr).toBe(0);
    for (const [rel, body, mode] of files) {
      const onDevice = join(sim.filesRoot, 'tree', rel);
      expect(sha(readFileSync(onDevice)), rel).toBe(sha(body));
      expect(statSync(onDevice).mode & 0o777, rel).toBe(mode);
      expect(up.stderr).toContain(`${device}:${onDevice}  ${body.length} bytes  sha256 ${sha(body)}`);
    }
    // The empty folder is made too, with its mode.
    expect(statSync(join(sim.filesRoot, 'tree', 'empty')).isDirectory()).toBe(true);
    expect(statSync(join(sim.filesRoot, 'tree', 'empty')).mode & 0o777).toBe(0o750);
    // A destination that does not exist becomes the folder (cp -r), inside the roots only.
    const renamed = await fleetctl(['cp', '--recursive', src, `${device}:${sim.filesRoot}/renamed/x`]);
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(readFileSync(join(sim.filesRoot, 'renamed', 'x', 'a.txt'), 'utf8')).toBe('alpha\n');
    const outside = await fleetctl(['cp', '-r', src, `${device}:${sim.filesRoot}/../escape`]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/\[outside-roots\]/);
    expect(existsSync(join(sim.filesRoot, '..', 'escape'))).toBe(false);

    const back = join(home.path, 'tree-back');
    const down = await fleetctl(['cp', '-r', `${device}:${sim.filesRoot}/tree`, back, '--json']);
    expect(down.code, down.stderr).toBe(0);
    expect((JSON.parse(down.stdout.toString()) as Array<{ path: string }>).map((r) => r.path)).toEqual(files.map(([rel]) => join(back, rel)));
    for (const [rel, body, mode] of files) {
      expect(sha(readFileSync(join(back, rel))), rel).toBe(sha(body));
      expect(statSync(join(back, rel)).mode & 0o777, rel).toBe(mode);
    }
    expect(readdirSync(join(back, 'sub')).sort()).toEqual(['b.bin', 'deeper']);
    expect(statSync(join(back, 'empty')).isDirectory()).toBe(true);
  });

  it('cp -r run again goes on where it stopped: files there whole (same size, mode, sha256) are not sent again, both ways', async () => {
    const src = join(home.path, 'again');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'same.bin'), randomBytes(200_000), { mode: 0o644 });
    writeFileSync(join(src, 'sub', 'edited.bin'), randomBytes(5000), { mode: 0o644 });
    writeFileSync(join(src, 'sub', 'grown.txt'), 'short\n', { mode: 0o644 });
    writeFileSync(join(src, 'moded.txt'), 'mode\n', { mode: 0o644 });
    // Last in name order, over the device's 16 MiB limit: the copy stops there.
    writeFileSync(join(src, 'zz-too-big.bin'), Buffer.alloc(17 * 1024 * 1024));
    const remote = join(sim.filesRoot, 'again');
    const first = await fleetctl(['cp', '-r', src, `${device}:${remote}`]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('[too-large]');
    // This run made the folder: the same command would now copy into it, so it says how to go on.
    expect(first.stderr).toContain(`add -T (DST exists now): fleetctl cp -r -T ${src} ${device}:${remote}\n`);
    const inode = (rel: string): number => statSync(join(remote, rel)).ino;
    const before = { same: inode('same.bin'), edited: inode('sub/edited.bin'), grown: inode('sub/grown.txt'), moded: inode('moded.txt') };

    // Same size, other bytes; a longer file; other permission bits; the big one left out.
    rmSync(join(src, 'zz-too-big.bin'));
    const edited = randomBytes(5000);
    writeFileSync(join(src, 'sub', 'edited.bin'), edited);
    writeFileSync(join(src, 'sub', 'grown.txt'), 'longer now\n');
    chmodSync(join(src, 'moded.txt'), 0o600);
    const second = await fleetctl(['cp', '-r', '-T', src, `${device}:${remote}`, '--json']);
    expect(second.code, second.stderr).toBe(0);
    const results = JSON.parse(second.stdout.toString()) as Array<{ path: string; unchanged?: boolean }>;
    expect(results.map((r) => [r.path.slice(remote.length + 1), Boolean(r.unchanged)])).toEqual([
      ['moded.txt', false],
      ['same.bin', true],
      ['sub/edited.bin', false],
      ['sub/grown.txt', false],
    ]);
    expect(existsSync(join(remote, 'again'))).toBe(false); // -T: into DST itself, not DST/again
    // Skipped means not sent: a sent file lands by rename, under a new inode.
    expect(inode('same.bin')).toBe(before.same);
    expect(inode('sub/edited.bin')).not.toBe(before.edited);
    expect(inode('sub/grown.txt')).not.toBe(before.grown);
    expect(inode('moded.txt')).not.toBe(before.moded);
    expect(sha(readFileSync(join(remote, 'sub', 'edited.bin')))).toBe(sha(edited));
    expect(statSync(join(remote, 'moded.txt')).mode & 0o777).toBe(0o600);
    // The device hashed same.bin and edited.bin (size and mode matched) and
    // sent neither: the hub's record says so, and lists no download.
    const audited = await unary(sim.link.client, sim.link.client.listSessions, { deviceId: device, kind: 'file', openOnly: false, pageSize: 500, pageToken: '' }, sim.link.token);
    const details = audited.sessions.map((x) => x.detail);
    expect(details).toEqual(expect.arrayContaining([`sha256 ${join(remote, 'same.bin')}`, `sha256 ${join(remote, 'sub', 'edited.bin')}`]));
    expect(details.filter((d) => d.startsWith(`download ${remote}`))).toEqual([]);
    for (const x of audited.sessions.filter((y) => y.detail.startsWith('sha256 '))) expect([x.bytesFromDevice, x.bytesToDevice]).toEqual([0, 0]);

    // Downward too: a local copy whose bytes changed (same size) is fetched again, the rest is left alone.
    const back = join(home.path, 'again-back');
    expect((await fleetctl(['cp', '-r', `${device}:${remote}`, back])).code).toBe(0);
    writeFileSync(join(back, 'same.bin'), randomBytes(200_000));
    const keptInode = statSync(join(back, 'sub', 'edited.bin')).ino;
    const down = await fleetctl(['cp', '-r', '-T', `${device}:${remote}`, back]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain(`${join(back, 'sub', 'edited.bin')}  5000 bytes  sha256 ${sha(edited)}  (already there, not sent)\n`);
    expect(down.stderr).toMatch(new RegExp(`${join(back, 'same.bin')}  200000 bytes  sha256 [0-9a-f]{64}\n`));
    expect(sha(readFileSync(join(back, 'same.bin')))).toBe(sha(readFileSync(join(remote, 'same.bin'))));
    expect(statSync(join(back, 'sub', 'edited.bin')).ino).toBe(keptInode);
    expect(existsSync(join(back, 'again'))).toBe(false);
  });

  it('cp DEVICE:FILE over a long link is not held back by a small receive window (200 ms round trip)', async () => {
    const body = randomBytes(12 * 1024 * 1024);
    const file = join(sim.filesRoot, 'far.bin');
    writeFileSync(file, body);
    const proxy = await startDelayProxy(sim.hubPort, 100);
    try {
      const flags = sim.flagsVia(`127.0.0.1:${proxy.port}`);
      const dest = join(home.path, 'far.bin');
      const t0 = performance.now();
      const run = await fleetctl(['cp', `${device}:${file}`, dest], undefined, flags);
      const ms = performance.now() - t0;
      expect(run.code, run.stderr).toBe(0);
      expect(sha(readFileSync(dest))).toBe(sha(body));
      // At most one window per round trip: with 1 MiB the 12 MiB alone take
      // 12 x 200 ms = 2.4 s on top of the set-up's round trips (TLS, the
      // channel). 16 MiB take them in about one.
      expect(ms).toBeLessThan(3000);
    } finally {
      await proxy.close();
      rmSync(file);
    }
  });

  it('cp -r run again on a device that forces a mode on uploads leaves alone what it holds whole, though the mode differs from ours', async () => {
    const forcing = await startRemoteSim({ uploadMode: '0640' });
    try {
      const [dev] = forcing.deviceIds;
      const src = join(home.path, 'forced');
      mkdirSync(src);
      writeFileSync(join(src, 'a.bin'), randomBytes(100_000), { mode: 0o644 });
      writeFileSync(join(src, 'b.txt'), 'same size\n', { mode: 0o600 });
      const remote = join(forcing.filesRoot, 'forced');
      const first = await fleetctl(['cp', '-r', src, `${dev}:${remote}`], undefined, forcing.flags);
      expect(first.code, first.stderr).toBe(0);
      expect([statSync(join(remote, 'a.bin')).mode & 0o777, statSync(join(remote, 'b.txt')).mode & 0o777]).toEqual([0o640, 0o640]);
      const inode = (name: string): number => statSync(join(remote, name)).ino;
      const before = { a: inode('a.bin'), b: inode('b.txt') };

      writeFileSync(join(src, 'b.txt'), 'SAME SIZE\n');
      const again = await fleetctl(['cp', '-r', '-T', src, `${dev}:${remote}`, '--json'], undefined, forcing.flags);
      expect(again.code, again.stderr).toBe(0);
      const results = JSON.parse(again.stdout.toString()) as Array<{ path: string; unchanged?: boolean }>;
      expect(results.map((r) => [r.path.slice(remote.length + 1), Boolean(r.unchanged)])).toEqual([
        ['a.bin', true],
        ['b.txt', false],
      ]);
      expect(inode('a.bin')).toBe(before.a);
      expect(inode('b.txt')).not.toBe(before.b);
      expect(readFileSync(join(remote, 'b.txt'), 'utf8')).toBe('SAME SIZE\n');
    } finally {
      await forcing.close();
    }
  });

  it('explains refusals: outside the roots, over the size limit, a missing file (exit 1)', async () => {
    const local = join(home.path, 'small.txt');
    writeFileSync(local, 'hello\n');
    const outside = await fleetctl(['cp', local, `${device}:/etc/fleetctl-test`]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/^fleetctl: cp: .*\[outside-roots\]: only paths under the roots of remote\.files\.roots can be reached\n$/);
    // Flags of this session's kind, given wrong: usage errors (2) before anything moves.
    const badRetries = await fleetctl(['cp', local, `${device}:${sim.filesRoot}/small.txt`, '--retries', 'many']);
    expect(badRetries.code).toBe(2);
    expect(badRetries.stderr).toContain('--retries needs a whole number from 0 to 100, got "many"');
    const lonelyT = await fleetctl(['cp', '-T', local, `${device}:${sim.filesRoot}/small.txt`]);
    expect(lonelyT.code).toBe(2);
    expect(lonelyT.stderr).toContain('-T (--no-target-directory) goes with -r');
    expect(existsSync(join(sim.filesRoot, 'small.txt'))).toBe(false);

    const big = join(home.path, 'big.bin');
    writeFileSync(big, Buffer.alloc(17 * 1024 * 1024));
    const tooLarge = await fleetctl(['cp', big, `${device}:${sim.filesRoot}/big.bin`]);
    expect(tooLarge.code).toBe(1);
    expect(tooLarge.stderr).toMatch(/\[too-large\]: the device refuses files over remote\.files\.maxFileBytes\n$/);
    expect(existsSync(join(sim.filesRoot, 'big.bin'))).toBe(false);

    const missing = await fleetctl(['cp', `${device}:${sim.filesRoot}/nope`, home.path]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\[not-found\]/);
    expect(readdirSync(home.path).filter((n) => n.includes('fleetctl-part'))).toEqual([]);
  });

  it('mkdir makes a folder with its parents and mode, keeps an existing one, and explains a refusal', async () => {
    const path = join(sim.filesRoot, 'made', 'deep');
    const run = await fleetctl(['mkdir', `${device}:${path}`, '--mode', '750', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.toString())).toMatchObject({ device, path, mode: '0750' });
    expect(statSync(path).isDirectory()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o750);
    expect(readdirSync(path)).toEqual([]);
    const again = await fleetctl(['mkdir', `${device}:${path}/`]);
    expect([again.code, again.stdout.length, again.stderr]).toEqual([0, 0, '']);

    const outside = await fleetctl(['mkdir', `${device}:${sim.filesRoot}/../fleetctl-mkdir-escape`]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/^fleetctl: mkdir: .*\[outside-roots\]: only paths under the roots of remote\.files\.roots can be reached\n$/);
    expect(existsSync(join(sim.filesRoot, '..', 'fleetctl-mkdir-escape'))).toBe(false);
    const badMode = await fleetctl(['mkdir', `${device}:${path}`, '--mode', 'rwx']);
    expect(badMode.code).toBe(2);
    expect(badMode.stderr).toMatch(/--mode "rwx": give octal permission bits/);
  });

  it('refuses a viewer with exit 3 and says which role is needed', async () => {
    const token = execFileSync(process.execPath, [join(repoRoot, 'bin', 'fleet-hub.js'), 'operators', 'add', 'watcher', '--role', 'viewer', '--data', sim.hub.dataDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const run = await fleetctl(['shell', device, '--', 'true'], undefined, ['--hub', sim.hub.address, '--token', token, '--ca', sim.caFile]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/\[forbidden\]: remote sessions need the operator or admin role; ask a hub admin\n$/);
  });

  it('port-forward serves HTTP through the tunnel, survives a refused connection, and Ctrl-C closes the port', async () => {
    const server: Server = createServer((req, res) => res.end(`hello from ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
    const start = (spec: string) =>
      spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), 'port-forward', device, spec, ...sim.flags], { cwd: repoRoot, env: { ...clean, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const child = start(String(port));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const local = Number(await waitFor('the bound address', () => /Forwarding from 127\.0\.0\.1:(\d+) -> \S+ 127\.0\.0\.1:\d+/.exec(out)?.[1], 20_000));
      const pages = await Promise.all(['/a', '/b', '/c'].map((p) => fetch(`http://127.0.0.1:${local}${p}`).then((r) => r.text())));
      expect(pages).toEqual(['hello from /a', 'hello from /b', 'hello from /c']);

      // A second forwarder to a port the device does not allow: the connection is refused, its listener stays.
      const denied = start('10.255.255.1:80');
      let deniedOut = '';
      denied.stderr.on('data', (d) => (deniedOut += d));
      denied.stdout.on('data', (d) => (deniedOut += d));
      const deniedPort = Number(await waitFor('the second bound address', () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(deniedOut)?.[1], 20_000));
      await expect(fetch(`http://127.0.0.1:${deniedPort}/`)).rejects.toThrow();
      await waitFor('the refusal', () => deniedOut.includes('[not-allowed]'), 10_000);
      expect(await fetch(`http://127.0.0.1:${local}/d`).then((r) => r.text())).toBe('hello from /d');
      denied.kill('SIGINT');

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await expect(fetch(`http://127.0.0.1:${local}/`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
      server.close();
    }
  });
  it('port-forward over a long link is not held back by a small receive window (200 ms round trip)', async () => {
    // A device-side server that sends 12 MiB to whoever connects: the bytes
    // come towards fleetctl, so its receive window sets the pace, at most
    // one window per round trip.
    const body = randomBytes(12 * 1024 * 1024);
    const source = createNetServer((socket) => socket.end(body));
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', () => r()));
    const proxy = await startDelayProxy(sim.hubPort, 100);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
    const port = (source.address() as { port: number }).port;
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), 'port-forward', device, String(port), ...sim.flagsVia(`127.0.0.1:${proxy.port}`)], { cwd: repoRoot, env: { ...clean, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const local = Number(await waitFor('the bound address', () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 20_000));
      const t0 = performance.now();
      const got = await new Promise<Buffer>((resolve, reject) => {
        const parts: Buffer[] = [];
        const socket = connect(local, '127.0.0.1');
        socket.on('data', (d: Buffer) => parts.push(d));
        socket.on('end', () => resolve(Buffer.concat(parts)));
        socket.on('error', reject);
      });
      const ms = performance.now() - t0;
      expect(sha(got)).toBe(sha(body));
      // Opening the channel takes a few round trips (TLS to the hub, the
      // channel, the device's connect); then at most one window per round
      // trip. With a 1 MiB window this took 5.0 s here, with 4 MiB 1.5 s.
      expect(ms, out).toBeLessThan(3000);
    } finally {
      child.kill('SIGKILL');
      source.close();
      await proxy.close();
    }
  });

  it('port-forward carries bytes intact both ways on concurrent connections (message buffers reused between frames)', async () => {
    // An echo server on the device side; four connections each send 6 MiB of
    // random bytes and read them back: every byte through fleetctl, the hub
    // and the agent twice, in pooled buffers handed out again between frames.
    // The echo side stalls now and then, so writes queue up in each process
    // (a buffer given back too early would be overwritten while queued).
    const echo = createNetServer((socket) => {
      let sinceStall = 0;
      socket.on('data', (d: Buffer) => {
        socket.write(d);
        sinceStall += d.length;
        if (sinceStall < 1024 * 1024) return;
        sinceStall = 0;
        socket.pause();
        setTimeout(() => socket.resume(), 30);
      });
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const port = (echo.address() as { port: number }).port;
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), 'port-forward', device, String(port), ...sim.flags], { cwd: repoRoot, env: { ...clean, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const local = Number(await waitFor('the bound address', () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 20_000));
      const roundTrip = (bytes: Buffer): Promise<string> =>
        new Promise((resolve, reject) => {
          const hash = createHash('sha256');
          let got = 0;
          const socket = connect(local, '127.0.0.1', () => socket.end(bytes));
          socket.on('data', (d: Buffer) => {
            hash.update(d);
            got += d.length;
            if (got === bytes.length) {
              resolve(hash.digest('hex'));
              socket.destroy();
            }
          });
          socket.on('error', reject);
          socket.on('close', () => reject(new Error(`closed after ${got} of ${bytes.length} bytes`)));
        });
      const payloads = [0, 1, 2, 3].map(() => randomBytes(6 * 1024 * 1024));
      const hashes = await Promise.all(payloads.map(roundTrip));
      expect(hashes).toEqual(payloads.map(sha));
    } finally {
      child.kill('SIGKILL');
      echo.close();
    }
  });
});
