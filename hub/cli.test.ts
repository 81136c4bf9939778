import { createServer, type Server } from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Role } from '../proto/gen/fleet/v1/console';
import { bearer, call, consoleClient } from './testing/grpc-clients';
import { runHubProcess, stopHubProcess, waitForListening, type HubProcess } from './testing/hub-process';
import { makeTempDir } from './testing/test-hub';

// The fleet-hub program as users run it: a real child process.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = makeTempDir('fleet-hub-cli-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function run(args: string[]): HubProcess {
  const proc = runHubProcess(args);
  cleanups.push(() => stopHubProcess(proc));
  return proc;
}

describe('fleet-hub', () => {
  it('prints help', async () => {
    const proc = run(['--help']);
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toContain('fleet-hub operators add NAME --role viewer|operator|admin');
  });

  it('refuses a bad flag, a bad duration and an unusable folder with exit code 1', async () => {
    const bad = run(['--bogus']);
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/Unknown option '--bogus'[\s\S]*fleet-hub --help/);

    const duration = run(['--heartbeat', 'soon', '--data', tempDir()]);
    expect(await duration.exited).toBe(1);
    expect(duration.output()).toContain('--heartbeat must be a positive duration');

    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const folder = run(['--data', join(file, 'data'), '--listen', '127.0.0.1:0']);
    expect(await folder.exited).toBe(1);
    expect(folder.output()).toContain('is not usable');
  });

  it('says so when the port is in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as { port: number }).port;
    const proc = run(['--data', tempDir(), '--listen', `127.0.0.1:${port}`]);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain(`cannot listen on 127.0.0.1:${port}: the port is already in use`);
  });

  it('serves, adds an operator beside the running hub, and stops cleanly on SIGTERM', async () => {
    const dir = tempDir();
    const hub = run(['--data', dir, '--listen', '127.0.0.1:0', '--token-ttl', '10m', '--heartbeat', '5s']);
    const address = await waitForListening(hub);
    const out = hub.output();
    expect(out).toContain(`certificate  ${join(dir, 'hub.crt')}`);
    expect(out).toContain(`admin token  ${join(dir, 'admin.token')}`);
    expect(out).toMatch(/fingerprint {2}SHA256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);

    const add = run(['operators', 'add', 'vic', '--role', 'viewer', '--data', dir]);
    expect(await add.exited).toBe(0);
    const token = add.output().split('\n')[0].trim();
    expect(token).toMatch(/^fleet_op_/);
    const again = run(['operators', 'add', 'vic', '--role', 'viewer', '--data', dir]);
    expect(await again.exited).toBe(1);
    expect(again.output()).toContain('already exists');

    const client = consoleClient({ address, certPem: readFileSync(join(dir, 'hub.crt'), 'utf8') });
    try {
      expect(await call(client, client.whoAmI, {}, bearer(token))).toMatchObject({ operator: 'vic', role: Role.ROLE_VIEWER });
    } finally {
      client.close();
    }

    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
    expect(hub.output()).toContain('hub stopped');
  });
});
