import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKeyPair } from '../../artifact';
import type { DeploymentCommand } from '../../proto/gen/fleet/v1/device';
import { makeTestCertificate, type ScriptedHub, type ScriptedHubOptions, type TestCertificate } from '../testing/scripted-hub';
import { startSimFleet, type SimFleet } from '../testing/sim-fleet';
import { factoryImage, makeSimRootfsArtifact } from '../testing/sim-image';
import { waitFor } from '../testing/wait-for';
import { syncInterval } from '../update/download';
import type { SimulatorOptions } from './simulator';

// Simulated devices taking real updates from a scripted hub: the image lands
// byte for byte in the other slot file, the simulated U-Boot switches, the
// device reboots in-process, checks its health and commits — or rolls back.

let cert: TestCertificate;
let key: SigningKeyPair;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  cert = makeTestCertificate();
  key = generateSigningKey();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function fleet(sim: Partial<SimulatorOptions> = {}, hub: ScriptedHubOptions = {}): Promise<SimFleet> {
  const f = await startSimFleet({ cert, trustedKeyPem: key.publicKeyPem, prefix: 'sim-updates-', sim, hub });
  cleanups.push(() => f.close());
  return f;
}

function command(hub: ScriptedHub, artifact: Buffer, over: Partial<DeploymentCommand> = {}): DeploymentCommand {
  return { deploymentId: 'dep-1', artifactId: hub.addArtifact(artifact), artifactName: 'fleetos', artifactVersion: '2.0.0', artifactSize: artifact.length, allowDowngrade: false, force: false, ...over };
}

async function finalReport(f: SimFleet, deploymentId = 'dep-1', timeoutMs = 20_000) {
  await waitFor(`a final report for ${deploymentId}`, () => ['success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted'].includes(f.hub.latestUpdate(f.deviceId, deploymentId)?.status ?? ''), timeoutMs);
  return f.hub.latestUpdate(f.deviceId, deploymentId)!;
}

function statuses(f: SimFleet, deploymentId = 'dep-1'): string[] {
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

  it('rolls back by itself when the new system is unhealthy: old slot, old provides, rolled-back with the reason', async () => {
    const f = await fleet();
    const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', healthy: false, signingKey: key.privateKeyPem });
    f.hub.deploy(f.deviceId, command(f.hub, artifact));
    const report = await finalReport(f);
    expect(report.status).toBe('rolled-back');
    expect(report.reason).toMatch(/health check failed: FleetOS 2\.0\.0 in slot b reports its services unhealthy/);
    expect(statuses(f)).toEqual(['downloading', 'installing', 'rebooting', 'verifying', 'rolled-back']);
    expect(readFileSync(join(f.dev, 'bootloader/cmdline'), 'utf8')).toBe('fleet.slot=a\n');
    expect(sha(readFileSync(join(f.dev, 'slots/a.img')))).toBe(sha(factoryImage()));
    expect(readFileSync(join(f.dev, 'bootloader/env'), 'utf8')).toMatch(/fleet_boot_part=a\n[^]*upgrade_available=0/);
    await waitFor('online again', () => f.sim.agents[0].state === 'online');
    expect(f.hub.device(f.deviceId).inventory).toMatchObject({ 'artifact.fleetos.version': '1.0.0', 'rootfs.active': 'a' });
  });

  it('fails the health check of a device chosen by failHealth, for a healthy image, and rolls back', async () => {
    const asked: number[] = [];
    const f = await fleet({ failHealth: (index) => asked.push(index) > 0 });
    const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', signingKey: key.privateKeyPem });
    f.hub.deploy(f.deviceId, command(f.hub, artifact));
    const report = await finalReport(f);
    expect(report.status).toBe('rolled-back');
    expect(report.reason).toMatch(/health check failed: FleetOS 2\.0\.0 in slot b: simulated health-check failure of device 1/);
    expect(asked).toEqual([1]);
    expect(readFileSync(join(f.dev, 'bootloader/cmdline'), 'utf8')).toBe('fleet.slot=a\n');
  });

  it('falls back through the boot limit when the new slot never comes up', async () => {
    const f = await fleet();
    const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', boots: false, signingKey: key.privateKeyPem });
    f.hub.deploy(f.deviceId, command(f.hub, artifact));
    const report = await finalReport(f);
    expect(report.status).toBe('rolled-back');
    expect(report.reason).toMatch(/the new slot b did not come up within 1 boot\(s\); the bootloader went back to slot a/);
    expect(readFileSync(join(f.dev, 'bootloader/cmdline'), 'utf8')).toBe('fleet.slot=a\n');
    // The agent made the old slot permanent again and cleared the fallback mark.
    expect(readFileSync(join(f.dev, 'bootloader/env'), 'utf8')).not.toMatch(/fleet_fallback=1/);
  });

  it('refuses an artifact signed by an untrusted key, or unsigned: failure, nothing touched', async () => {
    const f = await fleet();
    const other = generateSigningKey();
    const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', signingKey: other.privateKeyPem });
    f.hub.deploy(f.deviceId, command(f.hub, artifact));
    const report = await finalReport(f);
    expect(report.status).toBe('failure');
    expect(report.reason).toMatch(/artifact refused \(untrusted-key\)/);
    const unsigned = (await makeSimRootfsArtifact({ version: '2.0.1' })).artifact;
    f.hub.deploy(f.deviceId, command(f.hub, unsigned, { deploymentId: 'dep-2', artifactVersion: '2.0.1' }));
    expect((await finalReport(f, 'dep-2')).reason).toMatch(/artifact refused \(unsigned\)/);
    // Never provisioned: no slot was written, no bootloader variable changed.
    expect(() => readFileSync(join(f.dev, 'slots/b.img'))).toThrow(/ENOENT/);
    expect(() => readFileSync(join(f.dev, 'update/dep-1/artifact'))).toThrow(/ENOENT/);
  });

  it('says incompatible for another device type and a downgrade; already-installed without downloading', async () => {
    const f = await fleet();
    const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', deviceTypes: ['other-board'], signingKey: key.privateKeyPem });
    f.hub.deploy(f.deviceId, command(f.hub, artifact));
    const report = await finalReport(f);
    expect(report).toMatchObject({ status: 'incompatible' });
    expect(report.reason).toMatch(/is for device types other-board, not sim-device/);

    const old = (await makeSimRootfsArtifact({ version: '0.9.0', signingKey: key.privateKeyPem })).artifact;
    f.hub.deploy(f.deviceId, command(f.hub, old, { deploymentId: 'dep-2', artifactVersion: '0.9.0' }));
    expect(await finalReport(f, 'dep-2')).toMatchObject({ status: 'incompatible', reason: expect.stringMatching(/older than 1\.0\.0/) });

    const same = (await makeSimRootfsArtifact({ version: '1.0.0', signingKey: key.privateKeyPem })).artifact;
    const downloads = f.hub.downloads.length;
    f.hub.deploy(f.deviceId, command(f.hub, same, { deploymentId: 'dep-3', artifactVersion: '1.0.0' }));
    expect(await finalReport(f, 'dep-3')).toMatchObject({ status: 'already-installed', bytesDone: 0 });
    expect(f.hub.downloads.length).toBe(downloads);
  });

  it('answers a repeated command with its current report instead of starting again', async () => {
    const f = await fleet();
    const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', signingKey: key.privateKeyPem });
    const cmd = command(f.hub, artifact);
    f.hub.deploy(f.deviceId, cmd);
    await finalReport(f);
    const before = f.hub.device(f.deviceId).updates.length;
    const downloads = f.hub.downloads.length;
    f.hub.deploy(f.deviceId, cmd);
    await waitFor('an answer', () => f.hub.device(f.deviceId).updates.length > before);
    const answer = f.hub.device(f.deviceId).updates.at(-1)!;
    expect(answer).toMatchObject({ deploymentId: 'dep-1', status: 'success' });
    expect(answer.seq).toBeGreaterThan(f.hub.device(f.deviceId).updates[before - 1].seq);
    expect(f.hub.downloads.length).toBe(downloads);
  });

  it('resumes a broken download where it stopped, fetching almost nothing twice', async () => {
    const cut = new Set<number>();
    const f = await fleet({}, { chunkSize: 16 * 1024, cutDownload: (offset) => offset > 0 && offset % (128 * 1024) === 0 && cut.size < 5 && !cut.has(offset) && !!cut.add(offset) });
    const { artifact, image } = await makeSimRootfsArtifact({ version: '2.0.0', size: 1024 * 1024, compression: 'none', signingKey: key.privateKeyPem });
    f.hub.deploy(f.deviceId, command(f.hub, artifact));
    expect((await finalReport(f)).status).toBe('success');
    expect(cut.size).toBe(5);
    expect(f.hub.downloads.map((d) => d.offset)).toEqual([0, 131072, 262144, 393216, 524288, 655360]);
    expect(f.hub.bytesServed).toBe(artifact.length);
    expect(sha(readFileSync(join(f.dev, 'slots/b.img')))).toBe(sha(image));
  });

  it('resumes the download after the device restarts, from the offset it had made durable', async () => {
    let hold = true;
    const f = await fleet({}, { chunkSize: 64 * 1024, cutDownload: (offset) => hold && offset >= 5 * 1024 * 1024 });
    const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', size: 6 * 1024 * 1024, compression: 'none', signingKey: key.privateKeyPem });
    f.hub.deploy(f.deviceId, command(f.hub, artifact));
    await waitFor('the download stuck at 5 MiB', () => f.hub.downloads.length >= 2, 10_000);
    await f.sim.close();
    // Every eighth of the artifact was fsynced and recorded (at a chunk end);
    // the restart must ask from the last offset recorded before the stall.
    const durable = (JSON.parse(readFileSync(join(f.dev, 'update/state.json'), 'utf8')) as { bytesDone: number }).bytesDone;
    expect(durable).toBeGreaterThan(5 * 1024 * 1024 - syncInterval(artifact.length));
    expect(durable).toBeLessThanOrEqual(5 * 1024 * 1024);
    hold = false;
    await f.restart();
    expect((await finalReport(f)).status).toBe('success');
    expect(f.hub.downloads.at(-1)!.offset).toBe(durable);
  });

  it('aborts during the download at once', async () => {
    const f = await fleet({}, { chunkSize: 16 * 1024, cutDownload: () => true });
    const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', signingKey: key.privateKeyPem });
    f.hub.deploy(f.deviceId, command(f.hub, artifact));
    await waitFor('downloading', () => f.hub.latestUpdate(f.deviceId, 'dep-1')?.status === 'downloading');
    f.hub.sendTo(f.deviceId, { msg: { $case: 'abort', abort: { deploymentId: 'dep-1' } } });
    expect(await finalReport(f)).toMatchObject({ status: 'aborted' });
  });
});
