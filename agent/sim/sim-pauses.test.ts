import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKeyPair } from '../../artifact';
import type { DeploymentCommand, UpdateReport } from '../../proto/gen/fleet/v1/device';
import { makeTestCertificate, type TestCertificate } from '../testing/scripted-hub';
import { startSimFleet, type SimFleet } from '../testing/sim-fleet';
import { makeSimRootfsArtifact } from '../testing/sim-image';
import { waitFor } from '../testing/wait-for';
import type { SimulatorOptions } from './simulator';

// Pause points on a simulated device (issue #4): it stops before install,
// reboot and commit, reports paused-before-<stage>, stays there across
// restarts (each a power-on), acts only on the continue of that very stage,
// rolls back when aborted while paused, and starts over for a higher attempt.

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

async function fleet(sim: Partial<SimulatorOptions> = {}): Promise<SimFleet> {
  const f = await startSimFleet({ cert, trustedKeyPem: key.publicKeyPem, prefix: 'sim-pauses-', sim });
  cleanups.push(() => f.close());
  return f;
}

async function deploy(f: SimFleet, over: Partial<DeploymentCommand> = {}, healthy = true): Promise<DeploymentCommand> {
  const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', healthy, signingKey: key.privateKeyPem });
  const cmd: DeploymentCommand = { deploymentId: 'dep-1', artifactId: f.hub.addArtifact(artifact), artifactName: 'fleetos', artifactVersion: '2.0.0', artifactSize: artifact.length, allowDowngrade: false, force: false, ...over };
  f.hub.deploy(f.deviceId, cmd);
  return cmd;
}

function reports(f: SimFleet, attempt = 0): UpdateReport[] {
  return f.hub
    .device(f.deviceId)
    .updates.filter((u) => u.deploymentId === 'dep-1' && (u.attempt ?? 0) === attempt)
    .sort((a, b) => a.seq - b.seq);
}

function latest(f: SimFleet, attempt = 0): string {
  return reports(f, attempt).at(-1)?.status ?? '';
}

function statuses(f: SimFleet, attempt = 0): string[] {
  return reports(f, attempt)
    .map((u) => u.status)
    .filter((s, i, all) => s !== all[i - 1]);
}

async function reach(f: SimFleet, status: string, attempt = 0): Promise<void> {
  await waitFor(status, () => latest(f, attempt) === status, 20_000);
}

function carryOn(f: SimFleet, stage: string, deploymentId = 'dep-1'): void {
  f.hub.sendTo(f.deviceId, { msg: { $case: 'deploymentContinue', deploymentContinue: { deploymentId, stage } } });
}

/** Waits a little and checks the device did not move on. */
async function staysAt(f: SimFleet, status: string): Promise<void> {
  const before = reports(f).length;
  await new Promise((r) => setTimeout(r, 400));
  expect(latest(f)).toBe(status);
  expect(reports(f).slice(before).every((u) => u.status === status)).toBe(true);
}

const file = (f: SimFleet, name: string): string => readFileSync(join(f.dev, name), 'utf8');

describe('pause points on a simulated device', () => {
  // The second run gives the simulator one update slot and one reboot slot:
  // each pause, the reboot and the end must hand the slot back, or the
  // device waits for itself.
  it.each([
    ['', {}],
    [' (one update slot, one reboot slot)', { concurrentUpdates: 1, concurrentReboots: 1 }],
  ])('stops before install, reboot and commit; only the continue of that stage releases each%s', async (_name, slots) => {
    const f = await fleet(slots);
    await deploy(f, { pauseBeforeInstall: true, pauseBeforeReboot: true, pauseBeforeCommit: true });
    await reach(f, 'paused-before-install');
    // Downloaded and written into slot b, nothing activated.
    expect(file(f, 'slots/b.img')).toMatch(/^FLEETOS-SIM-ROOTFS 1\nversion=2\.0\.0/);
    expect(file(f, 'bootloader/env')).toMatch(/fleet_boot_part=a\n/);
    carryOn(f, 'reboot'); // not this pause
    carryOn(f, 'commit');
    carryOn(f, 'install', 'dep-other');
    await staysAt(f, 'paused-before-install');

    carryOn(f, 'install');
    carryOn(f, 'install'); // the hub may repeat it
    await reach(f, 'paused-before-reboot');
    // Installed, but the switch is undone while waiting: a power cut boots slot a.
    expect(file(f, 'bootloader/env')).toMatch(/fleet_boot_part=a\n[^]*upgrade_available=0/);
    carryOn(f, 'install'); // an earlier stage again
    await staysAt(f, 'paused-before-reboot');

    carryOn(f, 'reboot');
    await reach(f, 'paused-before-commit');
    // Rebooted into slot b, health checks passed, on trial, not committed.
    expect(file(f, 'bootloader/cmdline')).toBe('fleet.slot=b\n');
    expect(file(f, 'bootloader/env')).toMatch(/fleet_boot_part=b\n[^]*upgrade_available=1/);
    const log = reports(f).flatMap((u) => u.logLines).join('\n');
    expect(log.indexOf('health checks passed')).toBeLessThan(log.indexOf('paused before commit'));
    await staysAt(f, 'paused-before-commit');

    carryOn(f, 'commit');
    await reach(f, 'success');
    expect(statuses(f)).toEqual(['downloading', 'paused-before-install', 'installing', 'paused-before-reboot', 'rebooting', 'verifying', 'paused-before-commit', 'committing', 'success']);
    expect(file(f, 'bootloader/env')).toMatch(/fleet_boot_part=b\n[^]*upgrade_available=0/);
    expect(reports(f).every((u) => u.attempt === 0)).toBe(true);
  });

  it('stays paused across restarts (power-ons) at every pause, then goes on', async () => {
    // Boot limit 3: a power-on while on trial before the commit is one more boot of slot b.
    const f = await fleet({ bootlimit: 3 });
    await deploy(f, { pauseBeforeInstall: true, pauseBeforeReboot: true, pauseBeforeCommit: true });
    for (const stage of ['install', 'reboot', 'commit']) {
      await reach(f, `paused-before-${stage}`);
      const slot = file(f, 'bootloader/cmdline');
      await f.restart();
      await waitFor('online again', () => f.sim.agents[0].state === 'online');
      await staysAt(f, `paused-before-${stage}`);
      expect(file(f, 'bootloader/cmdline')).toBe(slot);
      carryOn(f, stage);
    }
    await reach(f, 'success');
    expect(statuses(f)).toEqual(['downloading', 'paused-before-install', 'installing', 'paused-before-reboot', 'rebooting', 'verifying', 'paused-before-commit', 'committing', 'success']);
  });

  it('rolls back through a reboot when aborted while paused before the commit', async () => {
    const f = await fleet();
    await deploy(f, { pauseBeforeCommit: true });
    await reach(f, 'paused-before-commit');
    f.hub.sendTo(f.deviceId, { msg: { $case: 'abort', abort: { deploymentId: 'dep-1' } } });
    await reach(f, 'aborted');
    expect(file(f, 'bootloader/cmdline')).toBe('fleet.slot=a\n');
    expect(file(f, 'bootloader/env')).toMatch(/fleet_boot_part=a\n[^]*upgrade_available=0/);
    carryOn(f, 'commit'); // too late: nothing happens
    await staysAt(f, 'aborted');
  });

  it('ends aborted with nothing activated when aborted while paused before the reboot', async () => {
    const f = await fleet();
    await deploy(f, { pauseBeforeReboot: true });
    await reach(f, 'paused-before-reboot');
    f.hub.sendTo(f.deviceId, { msg: { $case: 'abort', abort: { deploymentId: 'dep-1' } } });
    await reach(f, 'aborted');
    expect(statuses(f)).toEqual(['downloading', 'installing', 'paused-before-reboot', 'aborted']);
    expect(file(f, 'bootloader/cmdline')).toBe('fleet.slot=a\n');
  });

  it('ends aborted at once when aborted while paused before the install, the running slot untouched', async () => {
    const f = await fleet();
    await deploy(f, { pauseBeforeInstall: true });
    await reach(f, 'paused-before-install');
    f.hub.sendTo(f.deviceId, { msg: { $case: 'abort', abort: { deploymentId: 'dep-1' } } });
    await reach(f, 'aborted');
    expect(statuses(f)).toEqual(['downloading', 'paused-before-install', 'aborted']);
    expect(latest(f)).toBe('aborted');
    expect(reports(f).at(-1)!.reason).toBe('aborted by the operator before installing');
    expect(file(f, 'bootloader/env')).toMatch(/fleet_boot_part=a\n[^]*upgrade_available=0/);
    carryOn(f, 'install');
    await staysAt(f, 'aborted');
  });

  it('starts over for a higher attempt after a failure, and reports the attempt', async () => {
    const f = await fleet();
    const cmd = await deploy(f, {}, false);
    await reach(f, 'rolled-back');
    const downloads = f.hub.downloads.length;
    f.hub.deploy(f.deviceId, { ...cmd, attempt: 1 });
    await reach(f, 'rolled-back', 1);
    expect(statuses(f, 1)).toEqual(['downloading', 'installing', 'rebooting', 'verifying', 'rolled-back']);
    expect(f.hub.downloads.length).toBe(downloads + 1);
    // The same attempt again is answered with the report, not a new start.
    const sent = reports(f, 1).length;
    f.hub.deploy(f.deviceId, { ...cmd, attempt: 1 });
    await waitFor('an answer', () => reports(f, 1).length > sent);
    expect(latest(f, 1)).toBe('rolled-back');
    expect(f.hub.downloads.length).toBe(downloads + 1);
  });
});
