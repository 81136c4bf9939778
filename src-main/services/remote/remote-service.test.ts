import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConsoleEvent, RemoteTarget } from '../../common/console-api';
import { createConsoleApp, type ConsoleApp } from '../console-app';
import { startSimulator } from '../../../agent/sim/simulator';
import { admitOnHub, hubDevices, startTestHub, TempDirs, waitFor } from '../testing/test-fleet';
import { startTestSshd } from '../../../tests/support/sshd';
import { startDelayProxy } from '../../../tests/support/delay-proxy';

// The console's remote services against its real embedded hub and a
// simulated device (no browser): the credit the renderer gives back paces
// a shell, a cut upload resumes where the device stopped writing, and one
// failing tunnel connection leaves the tunnel working.

const temp = new TempDirs();
let app: ConsoleApp;
let target: RemoteTarget;
let root: string;
let userDataDir: string;
const events: ConsoleEvent[] = [];

beforeAll(async () => {
  userDataDir = temp.make('remote-services-');
  app = await createConsoleApp({ userDataDir, embedded: true, embeddedDevices: 1 });
  app.subscribe((e) => events.push(e));
  const id = await waitFor('the device', async () => (await app.api.devices.query({ limit: 1 })).rows[0]?.id, 20_000);
  await app.api.devices.accept([id]);
  await waitFor('the device online', async () => (await app.api.devices.get(id))?.online, 20_000);
  target = { deviceId: id, via: 'hub' };
  // The allowed folder comes from the inventory, which may arrive just after the device is online.
  [root] = await waitFor('the device inventory', async () => {
    const roots = await app.api.remote.roots(target);
    return roots.length > 0 ? roots : null;
  }, 20_000);
}, 60_000);

afterAll(async () => {
  await app?.close();
  temp.removeAll();
});

const outputBytes = (shellId: string) =>
  events.reduce((n, e) => n + (e.type === 'remote-shell-output' && e.shellId === shellId ? Buffer.from(e.data, 'base64').length : 0), 0);

it('a shell whose output is not acknowledged stops at one window; acknowledging lets it go on', async () => {
  const shell = await app.api.remote.openShell(target, { cols: 80, rows: 24 });
  expect(shell).toMatchObject({ via: 'hub', recorded: true, operator: 'admin' });
  await app.api.remote.shellInput(shell.shellId, 'yes 0123456789012345678901234567890123456789\n');
  await waitFor('one window of output', () => outputBytes(shell.shellId) >= 256 * 1024, 15_000);
  await new Promise((r) => setTimeout(r, 600));
  const held = outputBytes(shell.shellId);
  // Never more than the window the console granted (256 KiB) without an acknowledgement.
  expect(held).toBe(256 * 1024);
  await app.api.remote.shellAck(shell.shellId, held);
  await waitFor('more output after the acknowledgement', () => outputBytes(shell.shellId) > held, 15_000);
  await app.api.remote.closeShell(shell.shellId);
  await waitFor('the shell ended', () => events.some((e) => e.type === 'remote-shell-exit' && e.shellId === shell.shellId), 15_000);
}, 60_000);

it('an upload cut halfway resumes from the bytes the device kept, and the file is whole', async () => {
  const bytes = randomBytes(3 * 256 * 1024 + 1234);
  const path = `${root}/resumed.bin`;
  const first = await app.api.remote.uploadBegin({ target, path, size: bytes.length, transferId: 'resume-test' });
  expect(first.offset).toBe(0);
  for (let at = 0; at < 2 * first.chunkBytes; at += first.chunkBytes) await app.api.remote.uploadChunk(first.uploadId, at, bytes.subarray(at, at + first.chunkBytes).toString('base64'));
  // The cut: the hub ends the session (not a cancel, so the device keeps what it wrote).
  const [open] = await app.api.remote.sessions({ deviceId: target.deviceId, kind: 'file', openOnly: true });
  await app.api.remote.closeSession(open.id);
  await expect(app.api.remote.uploadChunk(first.uploadId, 2 * first.chunkBytes, 'AA==')).rejects.toThrow();
  expect(existsSync(path)).toBe(false);

  const again = await waitFor('the device released the first attempt', () => app.api.remote.uploadBegin({ target, path, size: bytes.length, transferId: 'resume-test' }).catch(() => null), 10_000);
  expect(again.offset).toBeGreaterThan(0);
  expect(again.offset).toBeLessThanOrEqual(2 * first.chunkBytes);
  for (let at = 0; at < bytes.length; at += again.chunkBytes) await app.api.remote.uploadChunk(again.uploadId, at, bytes.subarray(at, at + again.chunkBytes).toString('base64'));
  const result = await app.api.remote.uploadFinish(again.uploadId);
  expect(readFileSync(path).equals(bytes)).toBe(true);
  expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(readdirSync(root)).toEqual(['resumed.bin']);
}, 60_000);

it('a cancelled upload leaves nothing on the device', async () => {
  const bytes = randomBytes(3 * 256 * 1024);
  const path = `${root}/cancelled.bin`;
  const up = await app.api.remote.uploadBegin({ target, path, size: bytes.length, transferId: 'cancel-test' });
  for (let at = 0; at < 2 * up.chunkBytes; at += up.chunkBytes) await app.api.remote.uploadChunk(up.uploadId, at, bytes.subarray(at, at + up.chunkBytes).toString('base64'));
  expect(readdirSync(root).filter((n) => n.startsWith('.cancelled.bin.fleet-upload'))).toHaveLength(1);
  await app.api.remote.uploadCancel(up.uploadId);
  await waitFor('the temporary file removed', () => readdirSync(root).every((n) => !n.includes('cancelled.bin')), 10_000);
}, 30_000);

it('uploads into folders that do not exist yet (a dropped folder), and not through ..', async () => {
  const bytes = randomBytes(10_000);
  const path = `${root}/dropped/sub/deeper/a.txt`;
  const up = await app.api.remote.uploadBegin({ target, path, size: bytes.length, mode: 0o600, transferId: 'folder-test' });
  await app.api.remote.uploadChunk(up.uploadId, 0, bytes.toString('base64'));
  await app.api.remote.uploadFinish(up.uploadId);
  expect(readFileSync(path).equals(bytes)).toBe(true);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  await expect(app.api.remote.uploadBegin({ target, path: `${root}/dropped/../../escape/a.txt`, size: 1 })).rejects.toThrow(/^outside-roots: /);
  expect(existsSync(join(root, '..', 'escape'))).toBe(false);
}, 30_000);

it('uploads a file of this computer and downloads it twice without replacing the first copy (events carry progress and the end)', async () => {
  const local = join(temp.make('remote-local-'), 'report.txt');
  const bytes = randomBytes(600_000);
  writeFileSync(local, bytes);
  const ended = (id: string) => waitFor(`transfer ${id} ended`, () => events.find((e) => e.type === 'remote-transfer-end' && e.transferId === id), 15_000);
  const up = await app.api.remote.uploadFile(target, local, `${root}/report.txt`);
  const upEnd = await ended(up.transferId);
  expect(upEnd).toMatchObject({ result: { path: `${root}/report.txt`, size: bytes.length } });
  expect(readFileSync(`${root}/report.txt`).equals(bytes)).toBe(true);
  expect(events.some((e) => e.type === 'remote-transfer-progress' && e.transferId === up.transferId && e.progress.bytes === bytes.length)).toBe(true);

  const first = await ended((await app.api.remote.download(target, `${root}/report.txt`, local)).transferId);
  const second = await ended((await app.api.remote.download(target, `${root}/report.txt`, local)).transferId);
  expect(first.type === 'remote-transfer-end' && first.result?.path).toBe(local.replace(/\.txt$/, ' (1).txt'));
  expect(second.type === 'remote-transfer-end' && second.result?.path).toBe(local.replace(/\.txt$/, ' (2).txt'));
  expect(readFileSync(local.replace(/\.txt$/, ' (2).txt')).equals(bytes)).toBe(true);
}, 30_000);

it('refusals keep their code: outside the roots, over a path with ..', async () => {
  await expect(app.api.remote.list(target, '/etc')).rejects.toThrow(/^outside-roots: /);
  await expect(app.api.remote.download(target, `${root}/../../cache.db`, join(root, 'x'))).resolves.toMatchObject({ transferId: expect.any(String) });
  await waitFor('the refused download ended', () => events.some((e) => e.type === 'remote-transfer-end' && e.error?.code === 'outside-roots'), 10_000);
}, 30_000);

it('a tunnel connection the device cannot make fails alone; the tunnel keeps serving and closes cleanly', async () => {
  const server = createServer((s) => s.end('pong'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const tunnel = await app.api.remote.openTunnel(target, { host: '127.0.0.1', port });
  const read = () =>
    new Promise<string>((resolve, reject) => {
      const socket = new Socket();
      let data = '';
      socket.on('data', (d: Buffer) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.connect(tunnel.localPort, '127.0.0.1');
    });
  expect(await read()).toBe('pong');
  server.close();
  // Nothing listens on the device side any more: that connection is reset, the tunnel stays.
  expect(await read().catch(() => '')).toBe('');
  await waitFor('the failure reported', () => events.some((e) => e.type === 'remote-tunnel-error' && e.tunnelId === tunnel.tunnelId && e.error.code === 'connect-failed'), 10_000);
  expect((await app.api.remote.listTunnels()).map((t) => t.tunnelId)).toEqual([tunnel.tunnelId]);
  await app.api.remote.closeTunnel(tunnel.tunnelId);
  expect(await app.api.remote.listTunnels()).toEqual([]);
}, 30_000);

/** Connects `app` to `hub` at `address` (the hub's own, or a proxy's) as admin, admits its one device and waits until the console sees it online. */
async function connectAndAdmit(app: ConsoleApp, hub: Awaited<ReturnType<typeof startTestHub>>, address: string) {
  const probe = await app.api.connection.probe(address);
  await app.api.connection.connect({ hub: address, token: hub.adminToken, fingerprint: probe.fingerprint });
  const [device] = await waitFor('the device on the hub', async () => {
    const devices = await hubDevices(hub);
    return devices.length === 1 ? devices : null;
  }, 15_000);
  await admitOnHub(hub, [device.id]);
  await waitFor('the device online in the cache', async () => (await app.api.devices.get(device.id))?.online, 15_000);
  return { device, probe };
}

it('a viewer is refused with forbidden; a hub tunnel is closed, and its port freed, when its device goes offline', async () => {
  const dir = temp.make('remote-offline-');
  const hub = await startTestHub(join(dir, 'hub'));
  const sim = await startSimulator({
    hub: hub.address,
    caPem: hub.certPem,
    devices: 1,
    stateDir: join(dir, 'devices'),
    connectSpreadMs: 0,
    backoff: { baseMs: 200, maxMs: 1000 },
    remote: { portForward: { enabled: true, allow: ['127.0.0.1:*'] } },
  });
  const console2 = await createConsoleApp({ userDataDir: join(dir, 'console') });
  const seen: ConsoleEvent[] = [];
  console2.subscribe((e) => seen.push(e));
  try {
    const { device, probe } = await connectAndAdmit(console2, hub, hub.address);
    const tunnel = await console2.api.remote.openTunnel({ deviceId: device.id, via: 'hub' }, { host: '127.0.0.1', port: 9 });

    // A viewer's console: the hub refuses its sessions, and the code reaches the caller.
    const viewer = await createConsoleApp({ userDataDir: join(dir, 'viewer-console') });
    try {
      const { token } = await hub.store.createOperator('vera', 'viewer', 'test');
      await viewer.api.connection.connect({ hub: hub.address, token, fingerprint: probe.fingerprint });
      await waitFor('the viewer online', async () => (await viewer.api.connection.state()).phase === 'online', 15_000);
      await expect(viewer.api.remote.openShell({ deviceId: device.id, via: 'hub' }, { cols: 80, rows: 24 })).rejects.toThrow(/^forbidden: /);
    } finally {
      await viewer.close();
    }

    await sim.close();
    await waitFor('the tunnel closed', () => seen.some((e) => e.type === 'remote-tunnel-closed' && e.tunnelId === tunnel.tunnelId && /went offline/.test(e.reason)), 20_000);
    expect(await console2.api.remote.listTunnels()).toEqual([]);
    // The port is free again.
    const probeServer = createServer();
    await new Promise<void>((resolve, reject) => probeServer.once('error', reject).listen(tunnel.localPort, '127.0.0.1', () => resolve()));
    probeServer.close();
  } finally {
    await console2.close();
    await sim.close().catch(() => undefined);
    await hub.close();
  }
}, 60_000);

it('a download and a tunnel over a long link (200 ms round trip to the hub) are not held back by small receive windows', async () => {
  const dir = temp.make('remote-far-');
  const files = join(dir, 'device-files');
  mkdirSync(files);
  const bytes = randomBytes(12 * 1024 * 1024);
  writeFileSync(join(files, 'far.bin'), bytes);
  const hub = await startTestHub(join(dir, 'hub'));
  const proxy = await startDelayProxy(Number(hub.address.split(':').pop()), 100);
  const sim = await startSimulator({ hub: hub.address, caPem: hub.certPem, devices: 1, stateDir: join(dir, 'devices'), connectSpreadMs: 0, remote: { files: { enabled: true, roots: [files] }, portForward: { enabled: true, allow: ['127.0.0.1:*'] } } });
  const far = await createConsoleApp({ userDataDir: join(dir, 'console') });
  const seen: ConsoleEvent[] = [];
  far.subscribe((e) => seen.push(e));
  try {
    const { device } = await connectAndAdmit(far, hub, `127.0.0.1:${proxy.port}`);
    const saveTo = join(dir, 'far-copy.bin');
    const t0 = Date.now();
    const { transferId } = await far.api.remote.download({ deviceId: device.id, via: 'hub' }, join(files, 'far.bin'), saveTo);
    const end = await waitFor('the download ended', () => seen.find((e) => e.type === 'remote-transfer-end' && e.transferId === transferId), 30_000, 5);
    const ms = Date.now() - t0;
    expect(end).toMatchObject({ result: { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') } });
    expect(readFileSync(saveTo).equals(bytes)).toBe(true);
    // At most one window per round trip: 256 KiB would need 48 x 200 ms = 9.6 s
    // for these 12 MiB, 1 MiB 2.4 s, on top of the set-up's round trips.
    expect(ms).toBeLessThan(3000);

    // The same 12 MiB from a device-side server through a tunnel: 1 MiB
    // windows took 5.0 s here, 4 MiB 1.5 s.
    const source = createServer((socket) => socket.end(bytes));
    await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
    try {
      const tunnel = await far.api.remote.openTunnel({ deviceId: device.id, via: 'hub' }, { host: '127.0.0.1', port: (source.address() as AddressInfo).port });
      const t1 = Date.now();
      const got = await new Promise<Buffer>((resolve, reject) => {
        const parts: Buffer[] = [];
        const socket = new Socket();
        socket.on('data', (d: Buffer) => parts.push(d));
        socket.on('end', () => resolve(Buffer.concat(parts)));
        socket.on('error', reject);
        socket.connect(tunnel.localPort, '127.0.0.1');
      });
      const tunnelMs = Date.now() - t1;
      expect(got.equals(bytes)).toBe(true);
      expect(tunnelMs).toBeLessThan(3000);
      await far.api.remote.closeTunnel(tunnel.tunnelId);
    } finally {
      source.close();
    }
  } finally {
    await far.close();
    await sim.close();
    await proxy.close();
    await hub.close();
  }
}, 60_000);

it('makes a folder through the hub like mkdir -p (mode kept, an existing one fine), refusing outside the roots and over a file', async () => {
  const made = await app.api.remote.mkdir(target, `${root}/made/a/b/`, 0o750);
  expect(made).toMatchObject({ name: 'b', path: `${root}/made/a/b`, type: 'dir', size: 0, mode: 0o750 });
  expect(statSync(`${root}/made/a/b`).mode & 0o777).toBe(0o750);
  expect((await app.api.remote.list(target, `${root}/made/a`)).entries.map((e) => [e.name, e.type])).toEqual([['b', 'dir']]);
  expect(await app.api.remote.mkdir(target, `${root}/made/a/b`, 0o700)).toMatchObject({ type: 'dir', mode: 0o750 });
  await expect(app.api.remote.mkdir(target, '/etc/fleet-test-folder')).rejects.toThrow(/^outside-roots: /);
  writeFileSync(`${root}/made/plain`, 'x');
  await expect(app.api.remote.mkdir(target, `${root}/made/plain/sub`)).rejects.toThrow(/^not-regular: /);
  await expect(app.api.remote.mkdir(target, 'relative/x')).rejects.toThrow(/^protocol: give an absolute folder path/);
  expect(existsSync('/etc/fleet-test-folder')).toBe(false);
}, 30_000);

it('makes a folder over SFTP in direct mode like mkdir -p, and says when a file is in the way', async () => {
  const sshd = await startTestSshd();
  try {
    const direct: RemoteTarget = { deviceId: target.deviceId, via: 'direct' };
    await app.api.remote.setDirect(direct.deviceId, { host: sshd.host, port: sshd.port, username: sshd.username, auth: { kind: 'key', keyFile: sshd.clientKeyFile } });
    const base = temp.make('remote-direct-mkdir-');
    const made = await app.api.remote.mkdir(direct, `${base}/x/y`, 0o710);
    expect(made).toMatchObject({ name: 'y', path: `${base}/x/y`, type: 'dir', mode: 0o710 });
    expect(statSync(`${base}/x/y`).isDirectory()).toBe(true);
    expect(statSync(`${base}/x/y`).mode & 0o777).toBe(0o710);
    mkdirSync(`${base}/kept`, { mode: 0o700 });
    expect(await app.api.remote.mkdir(direct, `${base}/kept`, 0o755)).toMatchObject({ mode: 0o700 });
    writeFileSync(`${base}/plain`, 'x');
    await expect(app.api.remote.mkdir(direct, `${base}/plain/sub`)).rejects.toThrow(/^transfer-failed: .*plain is not a folder/);
    expect((await app.api.remote.list(direct, base)).entries.map((e) => e.name)).toEqual(['kept', 'x', 'plain']);
  } finally {
    await app.api.remote.setDirect(target.deviceId, null);
    await sshd.stop();
  }
}, 30_000);

it('serves a file dragged out to the desktop: the verified download, announced to the renderer; refusals, foreign keys and hosts answered with errors', async () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  writeFileSync(`${root}/drag me.bin`, bytes);
  const base = await app.api.remote.dragOutBase();
  expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/drag-out\/[\w-]{43}$/);
  expect(await app.api.remote.dragOutBase()).toBe(base); // one server, one key per run
  const link = (path: string, via = 'hub') => `${base}?via=${via}&device=${encodeURIComponent(target.deviceId)}&path=${encodeURIComponent(path)}`;

  const res = await fetch(link(`${root}/drag me.bin`));
  expect(res.status).toBe(200);
  const body = Buffer.from(await res.arrayBuffer());
  expect(body.equals(bytes)).toBe(true);
  expect(res.headers.get('content-length')).toBe(String(bytes.length));
  expect(res.headers.get('x-content-sha256')).toBe(createHash('sha256').update(bytes).digest('hex'));
  expect(res.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''drag%20me.bin");
  // The renderer hears of it (the queue shows it) and of its verified end.
  const start = events.find((e) => e.type === 'remote-transfer-start' && e.remotePath === `${root}/drag me.bin`);
  expect(start).toMatchObject({ origin: 'drag-out', deviceId: target.deviceId });
  const transferId = start?.type === 'remote-transfer-start' ? start.transferId : '';
  expect(events.find((e) => e.type === 'remote-transfer-end' && e.transferId === transferId)).toMatchObject({ result: { size: bytes.length } });
  // Nothing stays in the spool.
  await waitFor('the spool emptied', () => readdirSync(join(userDataDir, 'drag-out-spool')).length === 0, 5_000);

  const outside = await fetch(link('/etc/passwd'));
  expect(outside.status).toBe(403);
  expect(await outside.text()).toMatch(/^outside-roots: /);
  const missing = await fetch(link(`${root}/no-such-file`));
  expect(missing.status).toBe(404);
  expect((await fetch(link(`${root}/drag me.bin`).replace(/drag-out\/[\w-]+/, `drag-out/${'A'.repeat(43)}`))).status).toBe(403);
  expect((await fetch(link(`${root}/drag me.bin`, 'ftp'))).status).toBe(400);
  expect((await fetch(link(`${root}/drag me.bin`), { method: 'POST' })).status).toBe(405);
  // Another Host (a web page reaching 127.0.0.1 through a name it controls) is refused.
  const port = Number(new URL(base).port);
  const rebound = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: new URL(link(`${root}/drag me.bin`)).pathname, headers: { Host: `attacker.example:${port}` } }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
  expect(rebound).toBe(421);
}, 60_000);

it('a drag-out the browser abandons (the drop cancelled) cancels the device download and leaves nothing in the spool', async () => {
  writeFileSync(`${root}/abandoned.bin`, randomBytes(64 * 1024 * 1024));
  const base = await app.api.remote.dragOutBase();
  const abort = new AbortController();
  const seen = events.length;
  const startedFor = (e: ConsoleEvent) => e.type === 'remote-transfer-start' && e.remotePath === `${root}/abandoned.bin`;
  const off = app.subscribe((e) => {
    if (startedFor(e)) abort.abort(); // at once: 64 MiB take the device far longer than that
  });
  try {
    await expect(fetch(`${base}?via=hub&device=${encodeURIComponent(target.deviceId)}&path=${encodeURIComponent(`${root}/abandoned.bin`)}`, { signal: abort.signal })).rejects.toThrow(/abort/i);
  } finally {
    off();
  }
  const start = events.slice(seen).find(startedFor);
  const transferId = start?.type === 'remote-transfer-start' ? start.transferId : '';
  const end = await waitFor('the transfer end', () => events.find((e) => e.type === 'remote-transfer-end' && e.transferId === transferId), 15_000);
  expect(end).toMatchObject({ error: { code: 'cancelled' } });
  await waitFor('the spool emptied', () => readdirSync(join(userDataDir, 'drag-out-spool')).length === 0, 5_000);
}, 60_000);

it('a download the hub cuts halfway goes on by itself after a pause, from the bytes written, and the file is whole', async () => {
  const bytes = randomBytes(96 * 1024 * 1024);
  writeFileSync(`${root}/cut-download.bin`, bytes);
  const saveDir = temp.make('remote-cut-download-');
  const seen = events.length;
  const { transferId } = await app.api.remote.download(target, `${root}/cut-download.bin`, join(saveDir, 'cut-download.bin'));
  await waitFor('some bytes written', () => events.slice(seen).some((e) => e.type === 'remote-transfer-progress' && e.transferId === transferId && e.progress.bytes > 0), 15_000, 5);
  const [open] = await app.api.remote.sessions({ deviceId: target.deviceId, kind: 'file', openOnly: true });
  const cutAt = Date.now();
  await app.api.remote.closeSession(open.id);
  const end = await waitFor('the end', () => events.slice(seen).find((e) => e.type === 'remote-transfer-end' && e.transferId === transferId), 60_000);
  expect(end).toMatchObject({ result: { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') } });
  expect(readFileSync(join(saveDir, 'cut-download.bin')).equals(bytes)).toBe(true);
  // Two sessions for the one file: the cut one and the try that finished it.
  const sessions = await app.api.remote.sessions({ deviceId: target.deviceId, kind: 'file' });
  const tries = sessions.filter((s) => s.startedMs >= open.startedMs && s.detail.includes('cut-download.bin')).sort((a, b) => a.startedMs - b.startedMs);
  expect(tries.length).toBe(2);
  // It waited (1 s) before the next try, for a hub or device to come back.
  expect(tries[1].startedMs - cutAt).toBeGreaterThanOrEqual(900);
  expect(readdirSync(saveDir)).toEqual(['cut-download.bin']);
}, 90_000);
