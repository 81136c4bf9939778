import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../agent/sim/simulator';
import { makeSimRootfsArtifact } from '../../agent/testing/sim-image';
import { generateSigningKey } from '../../artifact';
import type { ConsoleServiceClient, CreateDeploymentRequest, DeploymentDetail } from '../../proto/gen/fleet/v1/console';
import { uploadBytes } from '../testing/fleet-fixtures';
import { bearer, call, consoleClient, eventually } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';

// The hub with real simulated devices (agent/sim): the deployment protocol
// end to end — command, resumable download, install, reboot, verify, commit,
// and the reports, logs and inventory the hub ends up with.

let t: TestHub;
let operators: ConsoleServiceClient;
let sim: RunningSimulator;
let simDir: string;
const key = generateSigningKey();

beforeAll(async () => {
  t = await startTestHub({ heartbeatIntervalMs: 1000 });
  writeFileSync(join(t.dir, 'trusted-keys', 'release.pub'), key.publicKeyPem);
  operators = consoleClient(t.hub);
  simDir = mkdtempSync(join(tmpdir(), 'hub-sim-'));
  sim = await startSimulator({
    hub: t.hub.address,
    caPem: t.hub.certPem,
    devices: 3,
    stateDir: simDir,
    connectSpreadMs: 0,
    backoff: { baseMs: 50, maxMs: 500 },
    trustedArtifactKeys: [key.publicKeyPem],
    healthTimeoutMs: 10_000,
  });
  await eventually(async () => (await t.hub.store.countDevices('pending')) === 3, 10_000, 'three pending devices');
  await t.hub.store.setAdmission({ ids: [], filter: { status: 'pending' } }, 'accepted', 'test');
  await eventually(() => sim.agents.every((a) => a.state === 'online'), 15_000, 'devices online');
}, 30_000);

afterAll(async () => {
  await sim?.close();
  operators?.close();
  await t?.dispose();
  if (simDir) rmSync(simDir, { recursive: true, force: true });
});

const admin = () => bearer(t.hub.adminToken);
const create = (req: Partial<CreateDeploymentRequest>) =>
  call(operators, operators.createDeployment, { name: '', artifactId: '', artifactName: '', deviceIds: [], group: '', allowDowngrade: false, force: false, ...req }, admin());

async function finished(id: string): Promise<DeploymentDetail> {
  return eventually(async () => {
    const d = await call(operators, operators.getDeployment, { id }, admin());
    return d.deployment!.finishedMs > 0 ? d : undefined;
  }, 40_000, `deployment ${id} finished`);
}

describe('deployments to simulated devices', () => {
  it('updates three devices to success (after the commit), with logs and the new version in inventory; a bad release rolls back', async () => {
    const ids = sim.agents.map((a) => a.deviceId);
    const good = await makeSimRootfsArtifact({ version: '2.0.0', size: 200 * 1024, signingKey: key.privateKeyPem });
    const uploaded = (await uploadBytes(operators, admin(), good.artifact)).artifact!;
    expect(uploaded.signatureStatus).toBe('trusted');
    const dep = await create({ artifactId: uploaded.id, deviceIds: ids });
    const done = await finished(dep.id);
    expect(done.deployment).toMatchObject({ status: 'finished', counts: { success: 3 } });
    for (const d of done.devices) expect(d).toMatchObject({ status: 'success', bytesDone: good.artifact.length, bytesTotal: good.artifact.length });
    const log = await call(operators, operators.getDeploymentLog, { deploymentId: dep.id, deviceId: ids[0] }, admin());
    expect(log.lines.length).toBeGreaterThan(2);
    await eventually(async () => {
      const devices = await Promise.all(ids.map((id) => t.hub.store.getDevice(id)));
      return devices.every((d) => d?.inventory['artifact.fleetos.version'] === '2.0.0');
    }, 10_000, 'inventory shows 2.0.0');

    // Deploying the same again: the hub knows it is installed.
    expect((await create({ artifactId: uploaded.id, deviceIds: ids })).status).toBe('finished');

    const bad = await makeSimRootfsArtifact({ version: '3.0.0', size: 200 * 1024, healthy: false, signingKey: key.privateKeyPem });
    const badId = (await uploadBytes(operators, admin(), bad.artifact)).artifact!.id;
    const rollout = await create({ artifactId: badId, deviceIds: [ids[0]] });
    const after = await finished(rollout.id);
    expect(after.devices[0]).toMatchObject({ status: 'rolled-back', reason: expect.stringMatching(/.+/) });
    const history = await call(operators, operators.listDeviceDeployments, { deviceId: ids[0] }, admin());
    expect(history.deployments.map((h) => h.status)).toEqual(['rolled-back', 'already-installed', 'success']);
  }, 90_000);
});
