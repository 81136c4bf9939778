import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsoleApp, type ConsoleApp } from '../console-app';
import { TempDirs, waitFor } from '../testing/test-fleet';
import { startEmbeddedFleet } from './embedded-fleet';

// The demo fleet inside the console: a real hub and 5 simulated devices.

const temp = new TempDirs();
const apps: ConsoleApp[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  temp.removeAll();
});

async function open(userDataDir: string, embeddedDemoArtifacts = false, embeddedDevices?: number): Promise<ConsoleApp> {
  const app = await createConsoleApp({ userDataDir, embedded: true, embeddedDemoArtifacts, embeddedDevices });
  apps.push(app);
  return app;
}

describe('createConsoleApp({ embedded: true })', () => {
  it('shows 5 pending devices; an accepted one comes online with its inventory; all of it survives a restart', async () => {
    const dir = temp.make('console-embedded-');
    const app = await open(dir);
    expect(await app.api.connection.state()).toMatchObject({ embedded: true, role: 'admin' });
    await waitFor('5 pending devices cached', async () => (await app.api.devices.query({ status: 'pending' })).total === 5, 15_000);
    expect((await app.api.connection.state()).phase).toBe('online');

    const id = (await app.api.devices.query({ limit: 1 })).rows[0].id;
    expect((await app.api.devices.accept([id])).changed).toEqual([id]);
    const device = await waitFor('accepted device online', async () => {
      const d = await app.api.devices.get(id);
      return d?.online && d.inventory['os.pretty_name'] ? d : null;
    }, 10_000);
    expect(device).toMatchObject({ status: 'accepted', deviceType: 'sim-device' });
    expect(device.os).toBe(device.inventory['os.pretty_name']);
    expect(device.lastSeenMs).toBeGreaterThan(0);

    const hubId = (await app.api.connection.state()).hubId;
    await app.close();
    const again = await open(dir);
    expect((await again.api.connection.state()).hubId).toBe(hubId);
    await waitFor('same fleet back online', async () => {
      const page = await again.api.devices.query({});
      return page.total === 5 && page.counts.accepted === 1 && (await again.api.devices.get(id))?.online;
    }, 15_000);
  }, 60_000);
});

describe('the demo update path', () => {
  it('makes a demo signing key and artifacts once, trusted by the hub and the devices: the ready one deploys to success', async () => {
    const dir = temp.make('console-demo-');
    const app = await open(dir, true, 1);
    const keyFile = join(dir, 'demo-signing', 'demo-signing.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const pub = readFileSync(join(dir, 'demo-signing', 'demo-signing.pub'), 'utf8');
    expect(readFileSync(join(dir, 'embedded-hub', 'trusted-keys', 'console-demo.pub'), 'utf8')).toBe(pub);
    expect(existsSync(join(dir, 'demo-artifacts', 'fleetos-1.2.0-unhealthy-sim-device.fleet'))).toBe(true);
    await waitFor('hub session online', async () => (await app.api.connection.state()).phase === 'online', 15_000);
    const [demo] = await app.api.artifacts.list();
    expect(demo).toMatchObject({ name: 'fleetos', version: '1.1.0', deviceTypes: ['sim-device'], signatureStatus: 'trusted' });

    const [device] = (await waitFor('device cached', async () => {
      const page = await app.api.devices.query({});
      return page.total === 1 ? page : null;
    }, 15_000)).rows;
    await app.api.devices.accept([device.id]);
    await waitFor('device online', async () => (await app.api.devices.get(device.id))?.online, 15_000);
    const deployment = await app.api.deployments.create({ artifactId: demo.id, deviceIds: [device.id] });
    const done = await waitFor('deployment finished', async () => {
      const d = await app.api.deployments.get(deployment.id);
      return d.deployment.status === 'finished' ? d : null;
    }, 60_000);
    expect(done.devices.map((d) => [d.status, d.reason])).toEqual([['success', '']]);
    await waitFor('new version in inventory', async () => (await app.api.devices.get(device.id))?.inventory['artifact.fleetos.version'] === '1.1.0', 15_000);

    // A restart keeps the key and the artifacts, and uploads nothing again.
    const keyBefore = readFileSync(keyFile, 'utf8');
    await app.close();
    const again = await open(dir, true, 1);
    expect(readFileSync(keyFile, 'utf8')).toBe(keyBefore);
    await waitFor('hub session online', async () => (await again.api.connection.state()).phase === 'online', 15_000);
    expect((await again.api.artifacts.list()).map((a) => a.id)).toEqual([demo.id]);
  }, 120_000);
});

describe('startEmbeddedFleet', () => {
  it('falls back to a free port when the preferred one is taken', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = `127.0.0.1:${(squatter.address() as AddressInfo).port}`;
    const lines: string[] = [];
    try {
      const fleet = await startEmbeddedFleet({ dir: temp.make('embedded-port-'), devices: 1, listen: taken, log: (l) => lines.push(l) });
      await fleet.close();
      expect(fleet.hub).not.toBe(taken);
      expect(fleet.hub).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(lines.some((l) => l.includes(`${taken} is taken`))).toBe(true);
      expect(lines.join('\n')).not.toContain(fleet.adminToken);
    } finally {
      squatter.close();
    }
  });
});
