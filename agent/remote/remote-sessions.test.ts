import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createChannelPair } from './channel-pair';
import { parseRemoteConfig } from './remote-config';
import { RemoteSessions, type ChannelOpen } from './remote-sessions';
import { TestOperator } from './test-operator';

const tmp = mkdtempSync(join(tmpdir(), 'remote-sessions-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function serve(sessions: RemoteSessions, request: ChannelOpen) {
  const pair = createChannelPair();
  const op = new TestOperator(pair.operator);
  const served = sessions.serve(request, pair.device);
  return { op, served };
}

describe('RemoteSessions', () => {
  it('refuses every kind when the config leaves it disabled', async () => {
    const sessions = new RemoteSessions(parseRemoteConfig(undefined));
    const requests: ChannelOpen[] = [
      { $case: 'shell', shell: { operator: 'alice' } },
      { $case: 'file', file: { op: 'download', path: '/etc/hostname' } },
      { $case: 'portForward', portForward: { host: '127.0.0.1', port: 22 } },
    ];
    for (const request of requests) {
      await expect(sessions.check(request)).rejects.toMatchObject({ code: 'disabled' });
      const { op, served } = serve(sessions, request);
      await served;
      await op.closed;
      expect(op.frameOf('error')?.error.code, request.$case).toBe('disabled');
    }
    expect(sessions.openChannels).toBe(0);
  });

  it('checks a mkdir as a new folder: an existing folder or missing parents pass, a file in the way or a path outside does not, nothing is made', async () => {
    const root = mkdtempSync(join(tmp, 'mkdir-'));
    mkdirSync(join(root, 'exists'));
    writeFileSync(join(root, 'file'), 'x');
    const sessions = new RemoteSessions(parseRemoteConfig({ files: { enabled: true, roots: [root] } }));
    const mkdir = (path: string): ChannelOpen => ({ $case: 'file', file: { op: 'mkdir', path } });
    await expect(sessions.check(mkdir(join(root, 'exists')))).resolves.toBeUndefined();
    await expect(sessions.check(mkdir(join(root, 'a', 'b')))).resolves.toBeUndefined();
    await expect(sessions.check(mkdir(join(root, 'file', 'sub')))).rejects.toMatchObject({ code: 'not-regular' });
    await expect(sessions.check(mkdir(join(tmp, 'elsewhere')))).rejects.toMatchObject({ code: 'outside-roots' });
    expect(readdirSync(root).sort()).toEqual(['exists', 'file']);
  });

  it('serves a shell, a download and a tunnel side by side, and ends them all on closeAll', async () => {
    writeFileSync(join(tmp, 'a.txt'), 'file content');
    const server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const sessions = new RemoteSessions(
      parseRemoteConfig({
        shell: { enabled: true, command: '/bin/sh' },
        files: { enabled: true, roots: [tmp] },
        portForward: { enabled: true, allow: [`localhost:${port}`] },
      }),
    );
    await sessions.check({ $case: 'portForward', portForward: { host: 'localhost', port } });
    await expect(sessions.check({ $case: 'portForward', portForward: { host: 'localhost', port: port + 1 } })).rejects.toMatchObject({ code: 'not-allowed' });
    await expect(sessions.check({ $case: 'file', file: { op: 'download', path: '/etc/passwd' } })).rejects.toMatchObject({ code: 'outside-roots' });

    const shell = serve(sessions, { $case: 'shell', shell: { operator: 'alice' } });
    const file = serve(sessions, { $case: 'file', file: { op: 'download', path: join(tmp, 'a.txt') } });
    const tunnel = serve(sessions, { $case: 'portForward', portForward: { host: 'localhost', port } });
    shell.op.write('echo shell-$((6*7))\r');
    tunnel.op.write('tunnel');
    await shell.op.until(() => shell.op.output.includes('shell-42'));
    await tunnel.op.until(() => tunnel.op.output === 'tunnel');
    await file.served;
    expect(file.op.output).toBe('file content');
    expect(sessions.openChannels).toBe(2);

    await sessions.closeAll('agent stopping');
    await Promise.all([shell.served, tunnel.served]);
    expect(await shell.op.closed).toBe('agent stopping');
    expect(await tunnel.op.closed).toBe('agent stopping');
    expect(sessions.openChannels).toBe(0);
    await new Promise((r) => server.close(r));
  });
});
