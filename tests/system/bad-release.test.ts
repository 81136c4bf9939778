import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateIdentityKey } from '../../agent/identity-key';
import { simIdentity } from '../../agent/sim/sim-device';
import { factoryImage, makeSimRootfsArtifact } from '../../agent/testing/sim-image';
import { generateSigningKey } from '../../artifact';
import { uploadBytes } from '../../hub/testing/fleet-fixtures';
import { bearer, call, consoleClient } from '../../hub/testing/grpc-clients';
import { startTestHub, type TestHub } from '../../hub/testing/test-hub';
import type { ConsoleServiceClient, DeploymentDevice } from '../../proto/gen/fleet/v1/console';
import { startProgram, tempDir, waitFor, type Program } from '../support/processes';

// A bad release rolls back by itself, and the hub says so with the reason:
//  - dev-00001 gets an image that boots but whose health check fails: the
//    agent rolls back and reboots into the old slot;
//  - dev-00002 gets an image that never comes up (kernel panic): the agent
//    never runs in it, the simulated U-Boot's boot limit sends the device
//    back to the old slot, and the agent reports that.
// A real hub, a real `fleet-agent sim` process.

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let hub: TestHub;
let operators: ConsoleServiceClient;
let work: ReturnType<typeof tempDir>;
let sim: Program;
const key = generateSigningKey();
const deviceIds: string[] = [];
const admin = () => bearer(hub.hub.adminToken);

beforeAll(async () => {
  hub = await startTestHub({ heartbeatIntervalMs: 2000 });
  operators = consoleClient(hub.hub);
  work = tempDir('bad-release');
  writeFileSync(join(hub.dir, 'trusted-keys', 'release.pub'), key.publicKeyPem);
  writeFileSync(join(work.path, 'release.pub'), key.publicKeyPem);
  for (const name of ['dev-00001', 'dev-00002']) {
    mkdirSync(join(work.path, name));
    const k = await loadOrCreateIdentityKey(join(work.path, name), { durable: false });
    deviceIds.push((await call(operators, operators.preauthorizeDevice, { publicKey: k.publicKey, identity: simIdentity('sim-device', k.publicKey) }, admin())).id);
  }
  sim = startProgram('fleet-agent', ['sim', '--hub', hub.hub.address, '--ca', hub.hub.certPath, '--devices', '2', '--state', work.path, '--spread-ms', '0', '--artifact-key', join(work.path, 'release.pub'), '--verbose']);
  await waitFor('both devices online', async () => (await Promise.all(deviceIds.map((id) => hub.hub.store.getDevice(id)))).every((d) => d?.online), 30_000);
}, 60_000);

afterAll(async () => {
  await sim?.stop();
  operators?.close();
  await hub?.dispose();
  work?.remove();
});

async function deploy(deviceId: string, opts: { version: string; healthy?: boolean; boots?: boolean }): Promise<DeploymentDevice> {
  const { artifact } = await makeSimRootfsArtifact({ ...opts, size: 256 * 1024, signingKey: key.privateKeyPem });
  const artifactId = (await uploadBytes(operators, admin(), artifact)).artifact!.id;
  const dep = await call(operators, operators.createDeployment, { name: `bad ${opts.version}`, artifactId, artifactName: '', deviceIds: [deviceId], group: '', allowDowngrade: false, force: false }, admin());
  try {
    return await waitFor(
      `deployment of ${opts.version} to finish`,
      async () => {
        const d = (await call(operators, operators.getDeployment, { id: dep.id }, admin())).devices[0];
        return d && d.finishedMs > 0 ? d : undefined;
      },
      60_000,
      200,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- fleet-agent sim output:\n${sim.output()}`);
  }
}

function onOldSlot(name: string): void {
  const dev = join(work.path, name);
  expect(readFileSync(join(dev, 'bootloader/cmdline'), 'utf8')).toBe('fleet.slot=a\n');
  expect(sha(readFileSync(join(dev, 'slots/a.img')))).toBe(sha(factoryImage()));
  const env = readFileSync(join(dev, 'bootloader/env'), 'utf8');
  expect(env).toContain('fleet_boot_part=a\n');
  expect(env).toContain('upgrade_available=0\n');
}

describe('bad releases', () => {
  it('an image whose health check fails rolls back by itself; the hub shows rolled-back with the reason', async () => {
    const result = await deploy(deviceIds[0], { version: '2.0.0', healthy: false });
    expect(result).toMatchObject({ status: 'rolled-back', reason: 'health check failed: FleetOS 2.0.0 in slot b reports its services unhealthy' });
    onOldSlot('dev-00001');
    const log = await call(operators, operators.getDeploymentLog, { deploymentId: result.deploymentId, deviceId: deviceIds[0] }, admin());
    expect(log.lines.join('\n')).toMatch(/rebooting into the new system[^]*rollback: health check failed[^]*rebooting into the previous system/);
    const history = await call(operators, operators.listDeviceDeployments, { deviceId: deviceIds[0] }, admin());
    expect(history.deployments.map((d) => d.status)).toEqual(['rolled-back']);
    await waitFor('inventory back on 1.0.0 in slot a', async () => {
      const inv = (await hub.hub.store.getDevice(deviceIds[0]))!.inventory;
      return inv['artifact.fleetos.version'] === '1.0.0' && inv['rootfs.active'] === 'a';
    });
  });

  it('an image that never comes up falls back through the boot limit; the hub shows rolled-back', async () => {
    const result = await deploy(deviceIds[1], { version: '2.0.0', boots: false });
    expect(result).toMatchObject({ status: 'rolled-back', reason: 'the new slot b did not come up within 1 boot(s); the bootloader went back to slot a' });
    onOldSlot('dev-00002');
    expect(sim.output()).toMatch(/dev-00002: slot b does not come up \(FleetOS 2\.0\.0 panics\)/);
  });
});
