import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKeyPair } from '../../artifact';
import type { DeploymentCommand } from '../../proto/gen/fleet/v1/device';
import { DeviceAgent } from '../agent';
import { simBootloader, simulateBoot } from '../bootloader/sim-bootloader';
import { simIdentity } from '../sim/sim-device';
import { makeTestCertificate, ScriptedHub, type TestCertificate } from '../testing/scripted-hub';
import { factoryImage, makeSimRootfsArtifact } from '../testing/sim-image';
import { waitFor } from '../testing/wait-for';
import type { UpdateEngineOptions } from './engine-options';
import { createRootfsInstaller } from './installers/rootfs-installer';
import { UpdateEngine } from './update-engine';

// The engine on its own terms, with what a host gives it replaced where a
// test needs control: free space, a health check that waits, a reboot that
// the test performs (stop agent and engine, power on, start new ones). The
// agent, bootloader, installer and hub protocol are the real ones.

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

/** One device: agent + engine, slot files, simulated U-Boot; reboot() powers it on again. */
class TestDevice {
  agent!: DeviceAgent;
  engine!: UpdateEngine;
  boots = 0;
  readonly dir = mkdtempSync(join(tmpdir(), 'engine-'));
  private bootId = 'boot-0';

  constructor(
    private readonly hub: ScriptedHub,
    private readonly over: Partial<UpdateEngineOptions> = {},
  ) {
    dirs.push(this.dir);
  }

  slot(s: 'a' | 'b'): string {
    return join(this.dir, `slots/${s}.img`);
  }

  async powerOn(): Promise<void> {
    if (!existsSync(join(this.dir, 'slots'))) {
      await mkdir(join(this.dir, 'slots'));
      writeFileSync(this.slot('a'), factoryImage());
      writeFileSync(this.slot('b'), '');
    }
    await simulateBoot(join(this.dir, 'bootloader'));
    this.bootId = `boot-${++this.boots}`;
    const bootloader = async () => simBootloader({ dir: join(this.dir, 'bootloader') });
    this.engine = new UpdateEngine({
      stateDir: this.dir,
      deviceType: 'sim-device',
      trustedKeys: [key.publicKeyPem],
      installers: (type) => (type === 'rootfs-image' ? createRootfsInstaller({ bootloader, slots: { a: this.slot('a'), b: this.slot('b') } }) : undefined),
      bootloader,
      reboot: async () => void setImmediate(() => void this.reboot()),
      bootId: async () => this.bootId,
      factoryProvides: { 'artifact.fleetos.name': 'fleetos', 'artifact.fleetos.version': '1.0.0' },
      download: (id, offset) => this.agent.download(id, offset),
      healthTimeoutMs: 10_000,
      ...this.over,
    });
    const agent: DeviceAgent = new DeviceAgent({
      hub: this.hub.address,
      caPem: cert.certPem,
      stateDir: this.dir,
      identity: () => simIdentity('sim-device', agent.publicKey!),
      inventory: () => ({}),
      durableKey: false,
      backoff: { baseMs: 50, maxMs: 300 },
      control: this.engine,
    });
    this.agent = agent;
    await this.engine.start();
    agent.start();
  }

  async stop(): Promise<void> {
    await this.agent.stop();
    await this.engine.stop();
  }

  async reboot(): Promise<void> {
    await this.stop();
    await this.powerOn();
  }
}

async function online(over: Partial<UpdateEngineOptions> = {}): Promise<{ hub: ScriptedHub; device: TestDevice; id: string }> {
  const hub = new ScriptedHub(cert, { heartbeatIntervalMs: 200 });
  await hub.listen();
  const device = new TestDevice(hub, over);
  await device.powerOn();
  cleanups.push(() => hub.kill());
  cleanups.push(() => device.stop());
  await waitFor('enrolled', () => hub.devices.size === 1);
  for (const k of hub.devices.keys()) hub.setAdmission(k, 'accepted');
  await waitFor('online', () => device.agent.state === 'online');
  return { hub, device, id: device.agent.deviceId };
}

async function deploy(hub: ScriptedHub, id: string, over: { healthy?: boolean; size?: number } = {}): Promise<{ cmd: DeploymentCommand; image: Buffer }> {
  const { artifact, image } = await makeSimRootfsArtifact({ version: '2.0.0', size: over.size ?? 128 * 1024, healthy: over.healthy, signingKey: key.privateKeyPem });
  const cmd: DeploymentCommand = { deploymentId: 'dep-1', artifactId: hub.addArtifact(artifact), artifactName: 'fleetos', artifactVersion: '2.0.0', artifactSize: artifact.length, allowDowngrade: false, force: false };
  hub.deploy(id, cmd);
  return { cmd, image };
}

const FINAL = ['success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted'];

async function final(hub: ScriptedHub, id: string) {
  await waitFor('a final report', () => FINAL.includes(hub.latestUpdate(id, 'dep-1')?.status ?? ''), 15_000);
  return hub.latestUpdate(id, 'dep-1')!;
}

describe('update engine', () => {
  it('fails clearly on a full disk before downloading, with the old system untouched', async () => {
    const { hub, device, id } = await online({ freeSpace: async () => 4096 });
    await deploy(hub, id);
    const report = await final(hub, id);
    expect(report.status).toBe('failure');
    expect(report.reason).toMatch(/^not enough free space in .*update\/dep-1: the artifact needs \d+ bytes more, 4096 are free; free some space and deploy again \(nothing was installed\)$/);
    expect(hub.downloads).toEqual([]);
    expect(readFileSync(device.slot('b')).length).toBe(0);
    expect(readFileSync(join(device.dir, 'bootloader/env'), 'utf8')).toContain('upgrade_available=0');
  });

  it('aborted while on trial, it rolls back through a reboot into the old slot and reports aborted', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { hub, device, id } = await online({ healthChecks: [{ name: 'slow check', run: () => gate }] });
    await deploy(hub, id);
    await waitFor('verifying', () => hub.latestUpdate(id, 'dep-1')?.status === 'verifying', 15_000);
    expect(readFileSync(join(device.dir, 'bootloader/cmdline'), 'utf8')).toBe('fleet.slot=b\n');
    hub.sendTo(id, { msg: { $case: 'abort', abort: { deploymentId: 'dep-1' } } });
    const report = await final(hub, id);
    release();
    expect(report).toMatchObject({ status: 'aborted', reason: 'aborted by the operator' });
    expect(readFileSync(join(device.dir, 'bootloader/cmdline'), 'utf8')).toBe('fleet.slot=a\n');
    expect(sha(readFileSync(device.slot('a')))).toBe(sha(factoryImage()));
    expect(device.boots).toBe(3);
  });

  it('answers an abort after the commit with success', async () => {
    const { hub, device, id } = await online();
    const { image } = await deploy(hub, id);
    expect((await final(hub, id)).status).toBe('success');
    const before = hub.device(id).updates.length;
    hub.sendTo(id, { msg: { $case: 'abort', abort: { deploymentId: 'dep-1' } } });
    await waitFor('an answer', () => hub.device(id).updates.length > before);
    expect(hub.device(id).updates.at(-1)).toMatchObject({ status: 'success' });
    expect(sha(readFileSync(device.slot('b')))).toBe(sha(image));
  });

  it('keeps the report seq increasing across restarts and resends the current report after each Hello', async () => {
    const { hub, device, id } = await online();
    await deploy(hub, id);
    expect((await final(hub, id)).status).toBe('success');
    const last = hub.latestUpdate(id, 'dep-1')!.seq;
    await device.reboot();
    await waitFor('the report again after Hello', () => hub.latestUpdate(id, 'dep-1')!.seq > last);
    expect(hub.latestUpdate(id, 'dep-1')).toMatchObject({ status: 'success', logLines: [] });
    // The engine kept nothing but its final state.
    expect(existsSync(join(device.dir, 'update/dep-1'))).toBe(false);
    expect(JSON.parse(readFileSync(join(device.dir, 'update/provides.json'), 'utf8'))).toEqual({ 'artifact.fleetos.name': 'fleetos', 'artifact.fleetos.version': '2.0.0' });
  });

  it('fails a deployment whose artifact does not match its id (a corrupted download), installing nothing', async () => {
    const { hub, device, id } = await online();
    const { cmd } = await deploy(hub, id);
    const bytes = hub.artifacts.get(cmd.artifactId)!;
    bytes[bytes.length - 700] ^= 1; // inside the end-of-archive padding: only the file hash can tell
    const report = await final(hub, id);
    expect(report).toMatchObject({ status: 'failure', reason: expect.stringMatching(/^the downloaded artifact's sha256 is [0-9a-f]{64}, not the artifact id/) });
    expect(readFileSync(device.slot('b')).length).toBe(0);
  });
});
