import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectError } from './direct-error';
import type { DirectTarget } from './direct-target';
import { HostKeyStore } from './host-key-store';
import { SshConnection } from './ssh-connection';
import { exec } from './ssh-shell';
import { opensshKeyPair } from './test-keys';

// Password login and the handshake timeout. The test sshd (tests/support/sshd.ts)
// takes keys only, since a password login there would need a password in
// /etc/shadow; ssh2's own SSH server stands in for a device that takes
// passwords. Everything else is proved against OpenSSH in
// tests/system/direct-mode.test.ts.

const dir = mkdtempSync(join(tmpdir(), 'ssh-connection-'));
const store = HostKeyStore.open(join(dir, 'cache.db'));
let server: InstanceType<typeof ssh2.Server>;
let silent: Server;
let port: number;
let silentPort: number;

beforeAll(async () => {
  server = new ssh2.Server({ hostKeys: [opensshKeyPair().private] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === 'field' && ctx.password === 'correct horse') ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('session', (accept) =>
      accept().on('exec', (acceptExec, _reject, info) => {
        const ch = acceptExec();
        ch.write(`ran ${info.command}\n`);
        ch.exit(0);
        ch.end();
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
  // Accepts TCP and never speaks SSH: a hung device. (It reads, so it sees the client hang up and server.close() can finish.)
  silent = createServer((sock) => sock.resume());
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  silentPort = (silent.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await new Promise((r) => (silent ? silent.close(r) : r(undefined)));
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const target = (password: string, p = port): DirectTarget => ({ deviceId: 'pw-dev', host: '127.0.0.1', port: p, username: 'field', auth: { kind: 'password', password } });

describe('SshConnection', () => {
  it('logs in with a password', async () => {
    const conn = await SshConnection.connect(target('correct horse'), { hostKeys: store });
    expect(conn.hostKey.firstUse).toBe(true);
    expect((await exec(conn, 'id')).stdout.toString()).toBe('ran id\n');
    conn.close();
  });

  it('says a wrong password was refused', async () => {
    const err = (await SshConnection.connect(target('wrong'), { hostKeys: store }).catch((e: unknown) => e)) as DirectError;
    expect(err).toBeInstanceOf(DirectError);
    expect(err.code).toBe('auth-failed');
    expect(err.message).toMatch(/SSH login as field@127\.0\.0\.1:\d+ \(device pw-dev\) was refused: the server did not accept the password/);
  });

  it('rejects (never throws) when the key file is missing', async () => {
    const p = SshConnection.connect({ ...target('x'), auth: { kind: 'key', keyFile: join(dir, 'no-such-key') } }, { hostKeys: store });
    await expect(p).rejects.toMatchObject({ code: 'key-unreadable', message: expect.stringMatching(/cannot read the SSH key file .*no-such-key/) });
  });

  it('gives up on a server that never answers, within the ready timeout', async () => {
    const t0 = Date.now();
    const err = (await SshConnection.connect(target('x', silentPort), { hostKeys: store, readyTimeoutMs: 500 }).catch((e: unknown) => e)) as DirectError;
    expect(err.code).toBe('timeout');
    expect(err.message).toMatch(/no SSH login to .* within 1 s: the device is not answering/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
