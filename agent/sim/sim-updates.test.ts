import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKeyPair } from '../../artifact';
import type { DeploymentCommand } from '../../proto/gen/fleet/v1/device';
import { makeTestCertificate, ScriptedHub, type TestCertificate } from '../testing/scripted-hub';
import { factoryImage, makeSimRootfsArtifact } from '../testing/sim-image';
import { waitFor } from '../testing/wait-for';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from './simulator';

// Simulated devices taking real updates from a scripted hub: the image lands
// byte for byte in the other slot file, the simulated U-Boot switches, the
// device reboots in-process, checks its health and commits — or rolls back.

let cert: TestCertificate;
let key: SigningKeyPair;
const dirs: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  cert = makeTestCertificate();
  key = generateSigningKey();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Fleet {
  hub: ScriptedHub;
  sim: RunningSimulator;
  dir: string;
  deviceId: string;
  dev: string;
}

async function fleet(opts: Partial<SimulatorOptions> = {}, hubOpts: ConstructorParameters<typeof ScriptedHub>[1] = {}): Promise<Fleet> {
  const hub = new ScriptedHub(cert, { heartbeatIntervalMs: 200, ...hubOpts });
  await hub.listen();
  const dir = mkdtempSync(join(tmpdir(), 'sim-updates-'));
  dirs.push(dir);
  const sim = await startSimulator({ hub: hub.address, caPem: cert.certPem, devices: 1, stateDir: dir, connectSpreadMs: 0, backoff: { baseMs: 50, maxMs: 300 }, trustedArtifactKeys: [key.publicKeyPem], healthTimeoutMs: 10_000, ...opts });
  cleanups.push(() => hub.kill());
  cleanups.push(() => sim.close());
  await waitFor('pending', () => hub.devices.size === 1);
  for (const k of hub.devices.keys()) hub.setAdmission(k, 'accepted');
  await waitFor('online', () => sim.agents[0].state === 'online');
  return { hub, sim, dir, deviceId: sim.agents[0].deviceId, dev: join(dir, 'dev-00001') };
}

function command(hub: ScriptedHub, artifact: Buffer, over: Partial<DeploymentCommand> = {}): DeploymentCommand {
  return { deploymentId: 'dep-1', artifactId: hub.addArtifact(artifact), artifactName: 'fleetos', artifactVersion: '2.0.0', artifactSize: artifact.length, allowDowngrade: false, force: false, ...over };
}

async function finalReport(f: Fleet, deploymentId = 'dep-1', timeoutMs = 20_000) {
  await waitFor(`a final report for ${deploymentId}`, () => ['success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted'].includes(f.hub.latestUpdate(f.deviceId, deploymentId)?.status ?? ''), timeoutMs);
  return f.hub.latestUpdate(f.deviceId, deploymentId)!;
}

function statuses(f: Fleet, deploymentId = 'dep-1'): string[] {
  const seen = f.hub.device(f.deviceId).updates.filter((u) => u.deploymentId === deploymentId).sort((a, b) => a.seq - b.seq);
  return seen.map((u) => u.status).filter((s, i, all) => s !== all[i - 1]);
}

describe('simulated device updates', () => {
  it('installs a rootfs image into the other slot, reboots, verifies and commits; success only after the commit', async () => {
    const f = await fleet();
    const { artifact, image } = await makeSimRootfsArtifact({ version: '2.0.0', size: 300 * 1024, signingKey: key.privateKeyPem });
    f.hub.deploy(f.deviceId, command(f.hub, artifact));
    const report = await finalReport(f);
    expect(report).toMatchObject({ status: 'success', reason: '', bytesDone: artifact.length, bytesTotal: artifact.length });
    expect(statuses(f)).toEqual(['downloading', 'installing', 'rebooting', 'verifying', 'committing', 'success']);
    expect(sha(readFileSync(join(f.dev, 'slots/b.img')))).toBe(sha(image));
    expect(sha(readFileSync(join(f.dev, 'slots/a.img')))).toBe(sha(factoryImage()));
    expect(readFileSync(join(f.dev, 'bootloader/cmdline'), 'utf8')).toBe('fleet.slot=b\n');
    expect(readFileSync(join(f.dev, 'bootloader/env'), 'utf8')).toMatch(/fleet_boot_part=b\n[^]*upgrade_available=0/);
    // The seq only grows, and the logs tell the story.
    const seqs = f.hub.device(f.deviceId).updates.map((u) => u.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const log = f.hub.device(f.deviceId).updates.flatMap((u) => u.logLines).join('\n');
    expect(log).toMatch(/writing fleetos-2\.0\.0\.img \(307200 bytes\) to slot b/);
    expect(log).toMatch(/health checks passed/);
    await waitFor('inventory with the new version', () => f.hub.device(f.deviceId).inventory['artifact.fleetos.version'] === '2.0.0' && f.hub.device(f.deviceId).inventory['rootfs.active'] === 'b');
  });
});
