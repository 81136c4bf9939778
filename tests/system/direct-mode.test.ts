import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectError } from '../../src-main/services/direct/direct-error';
import type { DirectTarget } from '../../src-main/services/direct/direct-target';
import { HostKeyStore } from '../../src-main/services/direct/host-key-store';
import { HostKeyChangedError, SshConnection, SshConnectionPool } from '../../src-main/services/direct/ssh-connection';
import { exec, SshShell } from '../../src-main/services/direct/ssh-shell';
import { listDirectory } from '../../src-main/services/direct/remote-files';
import { sha256File } from '../../proto/file-sha256';
import { downloadFile, uploadFile } from '../../src-main/services/direct/sftp-transfer';
import type { TransferProgress } from '../../src-main/services/direct/transfer-progress';
import { startTestSshd, type TestSshd } from '../support/sshd';
import { freePort, tempDir, waitFor } from '../support/processes';
import { SshTunnel } from '../../src-main/services/direct/ssh-tunnel';
import { DirectSessions, type DirectEvent } from '../../src-main/services/direct/direct-sessions';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { connect as tcpConnect, createServer as createTcpServer } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// Direct mode against a real Debian OpenSSH sshd on 127.0.0.1 (temporary
// config and keys, killed by PID at the end): login, trust on first use,
// shell, commands, SFTP and tunnels exactly as the console uses them.

let sshd: TestSshd;
let dir: ReturnType<typeof tempDir>;
let store: HostKeyStore;

beforeAll(async () => {
  sshd = await startTestSshd();
  dir = tempDir('direct-mode');
  store = HostKeyStore.open(join(dir.path, 'cache.db'));
});

afterAll(async () => {
  store?.close();
  await sshd?.stop();
  dir?.remove();
});

function target(over: Partial<DirectTarget> = {}): DirectTarget {
  return { deviceId: 'dev-1', host: sshd.host, port: sshd.port, username: sshd.username, auth: { kind: 'key', privateKey: sshd.clientKeyPem }, ...over };
}

async function connect(over: Partial<DirectTarget> = {}): Promise<SshConnection> {
  return SshConnection.connect(target(over), { hostKeys: store, readyTimeoutMs: 10_000 });
}

describe('direct mode: login and host keys', () => {
  it('logs in with a key, trusts the host key on first use and stores its fingerprint', async () => {
    store.forget(sshd.host, sshd.port);
    const first = await connect();
    expect(first.hostKey).toMatchObject({ algorithm: 'ssh-ed25519', fingerprint: sshd.hostKeyFingerprint(), firstUse: true });
    expect(store.get(sshd.host, sshd.port)?.fingerprint).toBe(sshd.hostKeyFingerprint());
    first.close();
    const second = await connect({ auth: { kind: 'key', keyFile: sshd.clientKeyFile } });
    expect(second.hostKey.firstUse).toBe(false);
    second.close();
  });

  it('refuses a wrong key with an auth error', async () => {
    const err = await connect({ auth: { kind: 'key', privateKey: sshd.strangerKeyPem } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirectError);
    expect((err as DirectError).code).toBe('auth-failed');
    expect((err as Error).message).toMatch(/was refused: the server did not accept the key/);
  });

  it('refuses a password when the server takes keys only', async () => {
    const err = (await connect({ auth: { kind: 'password', password: 'not-it' } }).catch((e: unknown) => e)) as DirectError;
    expect(err.code).toBe('auth-failed');
    expect(err.message).toMatch(/did not accept the password/);
  });

  it('says a closed port is unreachable', async () => {
    const err = (await connect({ port: await freePort() }).catch((e: unknown) => e)) as DirectError;
    expect(err.code).toBe('unreachable');
    expect(err.message).toMatch(/connection refused; is sshd running/);
  });
});

describe('direct mode: shell and commands', () => {
  let conn: SshConnection;
  beforeAll(async () => {
    conn = await connect();
  });
  afterAll(() => conn?.close());

  it('echoes in a pty shell, resizes and reports the exit code', async () => {
    const shell = await SshShell.open(conn, { cols: 80, rows: 24 });
    let out = '';
    shell.onData((d) => (out += d.toString()));
    const word = `hello-${Math.floor(Math.random() * 1e9)}`;
    shell.write(`echo $TERM ${word}\n`);
    await waitFor('the echo', () => out.includes(`xterm-256color ${word}`));
    shell.write('stty size\n');
    await waitFor('stty size 24 80', () => out.includes('24 80'));
    shell.resize(132, 40);
    shell.write('stty size\n');
    await waitFor('stty size 40 132', () => out.includes('40 132'));
    shell.write('exit 7\n');
    expect(await shell.exited).toEqual({ code: 7, signal: null });
  });

  it('runs commands with exit status, stdout, stderr and stdin', async () => {
    const r = await exec(conn, 'echo out; echo err >&2; exit 3');
    expect(r).toMatchObject({ code: 3, signal: null, truncated: false });
    expect(r.stdout.toString()).toBe('out\n');
    expect(r.stderr.toString()).toBe('err\n');
    const cat = await exec(conn, 'wc -c', { stdin: Buffer.alloc(100_000, 1) });
    expect(cat.stdout.toString().trim()).toBe('100000');
  });

  it('reports a shell ended when the connection drops, even when its output is paused', async () => {
    const own = await connect();
    const shell = await SshShell.open(own, { cols: 80, rows: 24 });
    shell.pause();
    shell.write('yes\n');
    await new Promise((r) => setTimeout(r, 300));
    own.client.destroy();
    expect(await shell.exited).toEqual({ code: null, signal: null });
  }, 15_000);

  it('reuses one connection per device for several sessions', async () => {
    const pool = new SshConnectionPool({ hostKeys: store });
    const [a, b] = await Promise.all([pool.connection(target()), pool.connection(target())]);
    expect(a).toBe(b);
    const shells = await Promise.all([SshShell.open(a, { cols: 80, rows: 24 }), SshShell.open(a, { cols: 80, rows: 24 })]);
    const r = await exec(a, 'echo ok');
    expect(r.stdout.toString()).toBe('ok\n');
    shells.forEach((s) => s.close());
    a.close();
    await waitFor('the connection to close', () => a.closed);
    const c = await pool.connection(target());
    expect(c).not.toBe(a);
    pool.closeAll();
  });
});

describe('direct mode: a changed host key', () => {
  it('is refused naming both fingerprints, and accepted only after an explicit trust', async () => {
    (await connect()).close();
    const old = sshd.hostKeyFingerprint();
    await sshd.replaceHostKey();
    const fresh = sshd.hostKeyFingerprint();
    const err = (await connect().catch((e: unknown) => e)) as HostKeyChangedError;
    expect(err).toBeInstanceOf(HostKeyChangedError);
    expect(err.code).toBe('host-key-changed');
    expect(err.message).toContain(old);
    expect(err.message).toContain(fresh);
    expect(err.presented.fingerprint).toBe(fresh);
    // Still refused on retry: nothing was replaced silently.
    await expect(connect()).rejects.toThrow(/host key changed/);
    expect(store.get(sshd.host, sshd.port)?.fingerprint).toBe(old);
    store.trust(sshd.host, sshd.port, err.presented);
    const conn = await connect();
    expect(conn.hostKey).toMatchObject({ fingerprint: fresh, firstUse: false });
    conn.close();
  });
});

describe('direct mode: SFTP', () => {
  let conn: SshConnection;
  let local: string;
  let remote: string;
  beforeAll(async () => {
    conn = await connect();
    local = join(dir.path, 'local');
    remote = join(dir.path, 'remote');
    mkdirSync(local);
    mkdirSync(remote);
  });
  afterAll(() => conn?.close());

  it('uploads and downloads a few MiB with equal sha256, progress, modes kept and no temporary files left', async () => {
    const src = join(local, 'data.bin');
    writeFileSync(src, randomBytes(6 * 1024 * 1024 + 123), { mode: 0o640 });
    const want = await sha256File(src);
    const seen: TransferProgress[] = [];
    const up = await uploadFile(conn, src, join(remote, 'data.bin'), { onProgress: (p) => seen.push(p) });
    expect(up).toMatchObject({ bytes: 6 * 1024 * 1024 + 123, sha256: want, verified: true });
    expect(await sha256File(join(remote, 'data.bin'))).toBe(want);
    expect(statSync(join(remote, 'data.bin')).mode & 0o777).toBe(0o640);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1)).toMatchObject({ bytes: up.bytes, total: up.bytes, etaSeconds: 0 });
    expect(seen.every((p, i) => i === 0 || p.bytes >= seen[i - 1].bytes)).toBe(true);

    const back = join(local, 'back.bin');
    const down = await downloadFile(conn, join(remote, 'data.bin'), back, { onProgress: (p) => seen.push(p) });
    expect(down).toMatchObject({ bytes: up.bytes, sha256: want, verified: true });
    expect(await sha256File(back)).toBe(want);
    expect(statSync(back).mode & 0o777).toBe(0o640);
    expect(readdirSync(remote)).toEqual(['data.bin']);
    expect(readdirSync(local).sort()).toEqual(['back.bin', 'data.bin']);

    const listing = await listDirectory(conn, remote);
    expect(listing).toEqual([expect.objectContaining({ name: 'data.bin', type: 'file', size: up.bytes, mode: 0o640 })]);
  });

  it('makes the missing folders of an upload (a dropped folder), and refuses a path through a file', async () => {
    const src = join(local, 'small.bin');
    writeFileSync(src, randomBytes(1000));
    await Promise.all(['a.bin', 'b.bin'].map((name) => uploadFile(conn, src, join(remote, 'new', 'deep', name))));
    expect(readdirSync(join(remote, 'new', 'deep')).sort()).toEqual(['a.bin', 'b.bin']);
    expect(statSync(join(remote, 'new')).mode & 0o777).toBe(0o755);
    writeFileSync(join(remote, 'plain'), 'x');
    const err = (await uploadFile(conn, src, join(remote, 'plain', 'x.bin')).catch((e: unknown) => e)) as DirectError;
    expect(err.message).toMatch(/plain is not a folder/);
    rmSync(join(remote, 'new'), { recursive: true });
    rmSync(join(remote, 'plain'));
    rmSync(src);
  });

  it('says clearly when the file to download does not exist, and writes nothing', async () => {
    const err = (await downloadFile(conn, join(remote, 'missing.bin'), join(local, 'missing.bin')).catch((e: unknown) => e)) as DirectError;
    expect(err.code).toBe('not-found');
    expect(err.message).toMatch(/cannot download .*missing\.bin from device dev-1: no such file/);
    expect(existsSync(join(local, 'missing.bin'))).toBe(false);
  });

  it('cancels an upload and leaves neither the file nor its temporary name', async () => {
    const src = join(local, 'big.bin');
    writeFileSync(src, randomBytes(48 * 1024 * 1024));
    const abort = new AbortController();
    const err = (await uploadFile(conn, src, join(remote, 'big.bin'), { signal: abort.signal, onProgress: () => abort.abort() }).catch((e: unknown) => e)) as DirectError;
    expect(err.code).toBe('cancelled');
    expect(readdirSync(remote)).toEqual(['data.bin']);
    // And a download: nothing under the name, no temporary file.
    const down = new AbortController();
    const derr = (await downloadFile(conn, src, join(remote, 'big-copy.bin'), { signal: down.signal, onProgress: () => down.abort() }).catch((e: unknown) => e)) as DirectError;
    expect(derr.code).toBe('cancelled');
    expect(readdirSync(remote)).toEqual(['data.bin']);
    // The connection survives a cancelled transfer.
    expect((await exec(conn, 'echo alive')).stdout.toString()).toBe('alive\n');
  });
});

/** GET over a fresh TCP connection (no keep-alive), so each request is its own tunnel connection. */
function fetchText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    }).on('error', reject);
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createTcpServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('direct mode: tunnels', () => {
  let conn: SshConnection;
  let web: ReturnType<typeof createHttpServer>;
  let webPort: number;
  beforeAll(async () => {
    conn = await connect();
    // The "device's web UI": an HTTP server the device's sshd reaches on 127.0.0.1.
    web = createHttpServer((req, res) => {
      const size = Number(new URL(req.url!, 'http://x').searchParams.get('size') ?? 0);
      res.end(`page ${req.url} ${'x'.repeat(size)}`);
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    webPort = (web.address() as { port: number }).port;
  });
  afterAll(async () => {
    conn?.close();
    await new Promise((r) => web?.close(r));
  });

  it('forwards many concurrent connections, survives a failing one and frees its port on close', async () => {
    const tunnel = await SshTunnel.open(conn, { remoteHost: '127.0.0.1', remotePort: webPort });
    expect(tunnel.localPort).toBeGreaterThan(0);
    const bodies = await Promise.all(Array.from({ length: 12 }, (_, i) => fetchText(tunnel.localPort, `/p${i}?size=${i * 50_000}`)));
    bodies.forEach((b, i) => expect(b).toBe(`page /p${i}?size=${i * 50_000} ${'x'.repeat(i * 50_000)}`));
    expect(tunnel.stats()).toMatchObject({ accepted: 12, failed: 0 });

    const errors: string[] = [];
    tunnel.onConnectionError((e) => errors.push(e.message));
    const closedPort = await freePort();
    const broken = await SshTunnel.open(conn, { localPort: 0, remoteHost: '127.0.0.1', remotePort: closedPort });
    broken.onConnectionError((e) => errors.push(e.message));
    await expect(fetchText(broken.localPort, '/')).rejects.toThrow();
    await waitFor('the failure to be reported', () => errors.length === 1);
    expect(errors[0]).toMatch(/failed: .*\(the tunnel stays open\)/);
    expect(broken.stats()).toMatchObject({ failed: 1 });
    // Other tunnels and the broken one's listener keep working.
    expect(await fetchText(tunnel.localPort, '/again')).toBe('page /again ');
    expect(await portIsFree(broken.localPort)).toBe(false);

    await Promise.all([tunnel.close(), broken.close()]);
    expect(await portIsFree(tunnel.localPort)).toBe(true);
    expect(await portIsFree(broken.localPort)).toBe(true);
  });

  it('delivers everything a client sends before it half-closes, and the answer after', async () => {
    // A device-side service that counts what it receives until EOF, then answers with the count.
    const counter = createTcpServer({ allowHalfOpen: true }, (s) => {
      let n = 0;
      s.on('data', (d: Buffer) => (n += d.length));
      s.on('end', () => s.end(`got ${n}`));
    });
    await new Promise<void>((r) => counter.listen(0, '127.0.0.1', () => r()));
    const tunnel = await SshTunnel.open(conn, { remoteHost: '127.0.0.1', remotePort: (counter.address() as { port: number }).port });
    try {
      const size = 24 * 1024 * 1024;
      const answers = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<string>((resolve, reject) => {
              let answer = '';
              const c = tcpConnect(tunnel.localPort, '127.0.0.1', () => c.end(Buffer.alloc(size, 1)));
              c.on('data', (d) => (answer += d));
              c.on('end', () => resolve(answer));
              c.on('error', reject);
            }),
        ),
      );
      expect(answers).toEqual([`got ${size}`, `got ${size}`, `got ${size}`]);
    } finally {
      await tunnel.close();
      await new Promise((r) => counter.close(r));
    }
  });

  it('binds the local port asked for, refuses one in use, and closes when the device connection ends', async () => {
    const port = await freePort();
    const tunnel = await SshTunnel.open(conn, { localPort: port, remoteHost: '127.0.0.1', remotePort: webPort });
    expect(tunnel.localPort).toBe(port);
    await expect(SshTunnel.open(conn, { localPort: port, remoteHost: '127.0.0.1', remotePort: webPort })).rejects.toThrow(/already in use/);
    expect(await fetchText(port, '/x')).toBe('page /x ');
    conn.close();
    await tunnel.closed;
    expect(await portIsFree(port)).toBe(true);
  });
});

describe('direct mode: the sessions layer the console API wires to', () => {
  it('reports connections, streams shell output with acknowledged flow control, runs transfers and tunnels by id', async () => {
    const events: DirectEvent[] = [];
    const sessions = new DirectSessions({ hostKeys: store, emit: (e) => events.push(e), shellWindowBytes: 64 * 1024 });
    const settings = { deviceId: 'dev-s', host: sshd.host, port: String(sshd.port), username: sshd.username, auth: { kind: 'key', keyFile: sshd.clientKeyFile } };
    try {
      const info = await sessions.connect(settings);
      expect(info).toMatchObject({ deviceId: 'dev-s', address: `${sshd.username}@127.0.0.1:${sshd.port}`, hostKey: { fingerprint: sshd.hostKeyFingerprint() } });
      expect(events).toContainEqual({ type: 'direct-connection', deviceId: 'dev-s', state: 'connected' });

      // A program printing without end: without acknowledgements the output stops near the window.
      const { shellId } = await sessions.openShell(settings, { cols: 80, rows: 24 });
      let received = 0;
      const outputOf = () => events.filter((e): e is Extract<DirectEvent, { type: 'direct-shell-output' }> => e.type === 'direct-shell-output' && e.shellId === shellId);
      sessions.shellInput(shellId, 'yes 0123456789abcdefghijklmnopqrstuvwxyz\n');
      await waitFor('output', () => outputOf().length > 0);
      await new Promise((r) => setTimeout(r, 1500));
      received = outputOf().reduce((n, e) => n + Buffer.from(e.data, 'base64').length, 0);
      // ssh2's own 2 MiB channel window plus stream buffers may hold more than our 64 KiB, but not unbounded.
      expect(received).toBeLessThan(4 * 1024 * 1024);
      await new Promise((r) => setTimeout(r, 500));
      const stalled = outputOf().reduce((n, e) => n + Buffer.from(e.data, 'base64').length, 0);
      expect(stalled).toBe(received);
      sessions.shellAck(shellId, stalled);
      await waitFor('more output after the ack', () => outputOf().reduce((n, e) => n + Buffer.from(e.data, 'base64').length, 0) > stalled);
      sessions.closeShell(shellId);
      await waitFor('the shell exit event', () => events.some((e) => e.type === 'direct-shell-exit' && e.shellId === shellId));

      const src = join(dir.path, 'sessions-up.bin');
      writeFileSync(src, randomBytes(512 * 1024));
      const { transferId } = await sessions.startUpload(settings, src, join(dir.path, 'sessions-remote.bin'));
      const end = await waitFor('the transfer end', () => events.find((e) => e.type === 'direct-transfer-end' && e.transferId === transferId));
      expect(end).toMatchObject({ result: { bytes: 512 * 1024, verified: true } });
      expect(events.some((e) => e.type === 'direct-transfer-progress' && e.transferId === transferId)).toBe(true);
      const missing = await sessions.startDownload(settings, '/nonexistent/file', join(dir.path, 'never.bin'));
      const failed = await waitFor('the failed download', () => events.find((e) => e.type === 'direct-transfer-end' && e.transferId === missing.transferId));
      expect(failed).toMatchObject({ error: { code: 'not-found', message: expect.stringMatching(/no such file/) } });

      expect((await sessions.exec(settings, 'echo hi; exit 2'))).toEqual({ code: 2, signal: null, stdout: 'hi\n', stderr: '' });
      const tunnel = await sessions.openTunnel(settings, { remoteHost: '127.0.0.1', remotePort: sshd.port });
      expect(sessions.listTunnels()).toEqual([expect.objectContaining({ tunnelId: tunnel.tunnelId, deviceId: 'dev-s', localPort: tunnel.localPort })]);
      sessions.disconnect('dev-s');
      await waitFor('the tunnel to close with its connection', () => events.some((e) => e.type === 'direct-tunnel-closed' && e.tunnelId === tunnel.tunnelId));
      expect(await portIsFree(tunnel.localPort)).toBe(true);
      expect(events).toContainEqual({ type: 'direct-connection', deviceId: 'dev-s', state: 'closed', error: undefined });

      await expect(sessions.connect({ ...settings, port: 0 })).rejects.toThrow(/port 0 must be a whole number from 1 to 65535/);
    } finally {
      await sessions.closeAll();
    }
  });
});

describe('direct mode: end-to-end hash checks', () => {
  // A device whose hashing tool lies (or is missing): a stand-in `openssl`
  // first on the session PATH of a second sshd.
  let liar: TestSshd;
  let conn: SshConnection;
  let work: string;
  beforeAll(async () => {
    work = join(dir.path, 'liar');
    mkdirSync(join(work, 'bin'), { recursive: true });
    mkdirSync(join(work, 'remote'));
    writeFileSync(
      join(work, 'bin', 'openssl'),
      ['#!/bin/sh', 'case "$4" in *notool*) exit 127 ;; esac', `echo "${'0'.repeat(64)} *$4"`, ''].join('\n'),
    );
    chmodSync(join(work, 'bin', 'openssl'), 0o755);
    liar = await startTestSshd({ env: { PATH: `${join(work, 'bin')}:/usr/bin:/bin` } });
    conn = await SshConnection.connect(
      { deviceId: 'liar', host: liar.host, port: liar.port, username: liar.username, auth: { kind: 'key', privateKey: liar.clientKeyPem } },
      { hostKeys: store },
    );
  });
  afterAll(async () => {
    conn?.close();
    await liar?.stop();
  });

  it('refuses an upload whose device copy hashes differently, and leaves nothing under the name', async () => {
    const src = join(work, 'lie.bin');
    writeFileSync(src, randomBytes(300_000));
    const err = (await uploadFile(conn, src, join(work, 'remote', 'lie.bin')).catch((e: unknown) => e)) as DirectError;
    expect(err.code).toBe('integrity');
    expect(err.message).toMatch(/the device's copy has sha256 0{64}, not [0-9a-f]{64}; the data was damaged on the way/);
    expect(readdirSync(join(work, 'remote'))).toEqual([]);
  });

  it('refuses a download whose hash differs from the device\'s, and writes nothing', async () => {
    const err = (await downloadFile(conn, join(work, 'lie.bin'), join(work, 'got.bin')).catch((e: unknown) => e)) as DirectError;
    expect(err.code).toBe('integrity');
    expect(err.message).toMatch(/differs from the device's 0{64}/);
    expect(readdirSync(work).filter((n) => n.includes('got.bin'))).toEqual([]);
  });

  it('delivers but says "not verified" when the device has no hashing tool', async () => {
    const src = join(work, 'notool.bin');
    writeFileSync(src, randomBytes(1000));
    const r = await uploadFile(conn, src, join(work, 'remote', 'notool.bin'));
    expect(r.verified).toBe(false);
    expect(await sha256File(join(work, 'remote', 'notool.bin'))).toBe(r.sha256);
  });
});
