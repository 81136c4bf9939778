import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateIdentityKey } from '../../agent/identity-key';
import { simDeviceName, simIdentity } from '../../agent/sim/sim-device';
import { startSimulator, type RunningSimulator } from '../../agent/sim/simulator';
import { makeSimRootfsArtifact } from '../../agent/testing/sim-image';
import { generateSigningKey } from '../../artifact';
import { uploadBytes } from '../../hub/testing/fleet-fixtures';
import { bearer, call, consoleClient } from '../../hub/testing/grpc-clients';
import { runHubProcess, stopHubProcess, waitForListening, type HubProcess } from '../../hub/testing/hub-process';
import { deploymentRequest } from '../../hub/testing/rollout-fleet';
import type { ConsoleServiceClient, DeploymentDetail, RolloutOptions } from '../../proto/gen/fleet/v1/console';
import { startProgram, tempDir, waitFor, type Program } from '../support/processes';

// The rollout proof of issue #4: the real fleet-hub program and 200
// simulated devices (in this process, so the test picks which devices fail
// their health check once it knows their phases) get a signed image in 3
// phases — 10 %, 50 %, 100 % cumulative, i.e. phase shares 10/40/50 % =
// 20/80/100 devices (docs/rollouts.md) — with automatic advance (80 %
// success) and a pause before the reboot. Every device of a phase
// downloads, installs and stops at the pause; one continue makes phase 1
// reboot and commit (the time is printed). Phase 2's healthy devices are
// continued and the deployment paused by hand at once: they commit while it
// is halted, so phase 3 becomes due but waits; resume starts it. Then 6 % of
// the devices (1 in phase 1, 11 in phase 2) fail their health check for an
// otherwise healthy image: the 11th failure exceeds the 5 % threshold and
// halts the rollout with its reason; resume; abort rolls phase 3's paused
// devices back.
// Before that, a device in its own `fleet-agent sim` process is killed with
// SIGKILL while paused before its reboot and before its commit: each time
// the restarted device is still paused, then continues.

const DEVICES = 200;
const IMAGE_SIZE = 64 * 1024;
const FINAL = new Set(['success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted']);
/** Generous for a loaded 2-core machine; each wait still ends the test in bounded time. */
const PHASE_MS = 40_000;

let work: ReturnType<typeof tempDir>;
let hubProc: HubProcess;
let operators: ConsoleServiceClient;
let admin: Metadata;
let sim: RunningSimulator;
let artifactId = '';
let keyFile = '';
let caFile = '';
let hubAddress = '';
/** Device index (1-based) ↔ hub id. */
const idOf = new Map<number, string>();
const indexOf = new Map<string, number>();
/** Indexes whose health check fails (chosen once the phases are known). */
const failing = new Set<number>();
const programs: Program[] = [];

beforeAll(async () => {
  const t0 = Date.now();
  work = tempDir('rollout');
  const hubDir = join(work.path, 'hub');
  hubProc = runHubProcess(['--data', hubDir, '--listen', '127.0.0.1:0', '--heartbeat', '10s']);
  hubAddress = await waitForListening(hubProc);
  caFile = join(hubDir, 'hub.crt');
  operators = consoleClient({ address: hubAddress, certPem: readFileSync(caFile, 'utf8') });
  admin = bearer(readFileSync(join(hubDir, 'admin.token'), 'utf8').trim());

  const key = generateSigningKey();
  mkdirSync(join(hubDir, 'trusted-keys'), { recursive: true });
  writeFileSync(join(hubDir, 'trusted-keys', 'release.pub'), key.publicKeyPem);
  keyFile = join(work.path, 'release.pub');
  writeFileSync(keyFile, key.publicKeyPem);
  const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', size: IMAGE_SIZE, signingKey: key.privateKeyPem });
  artifactId = (await uploadBytes(operators, admin, artifact)).artifact!.id;

  // Preauthorized, so they are accepted at their first enrollment.
  const devicesDir = join(work.path, 'devices');
  const preauthorize = async (i: number): Promise<void> => {
    const dir = join(devicesDir, simDeviceName(i));
    mkdirSync(dir, { recursive: true });
    const k = await loadOrCreateIdentityKey(dir, { durable: false });
    const device = await call(operators, operators.preauthorizeDevice, { publicKey: k.publicKey, identity: simIdentity('sim-device', k.publicKey) }, admin);
    idOf.set(i, device.id);
    indexOf.set(device.id, i);
  };
  for (let i = 1; i <= DEVICES; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => preauthorize(i + k)));
  sim = await startSimulator({
    hub: hubAddress,
    caPem: readFileSync(caFile, 'utf8'),
    devices: DEVICES,
    stateDir: devicesDir,
    connectSpreadMs: 2_000,
    backoff: { baseMs: 200, maxMs: 2_000 },
    trustedArtifactKeys: [key.publicKeyPem],
    failHealth: (index) => failing.has(index),
  });
  await waitFor(`${DEVICES} simulated devices online`, () => sim.counts().online === DEVICES, 60_000, 200);
  console.log(`rollout: hub started, ${DEVICES} devices preauthorized and online in ${Date.now() - t0} ms`);
}, 120_000);

afterAll(async () => {
  await Promise.all(programs.map((p) => p.kill9()));
  await sim?.close();
  operators?.close();
  await stopHubProcess(hubProc);
  work?.remove();
});

async function detail(id: string): Promise<DeploymentDetail> {
  return call(operators, operators.getDeployment, { id }, admin);
}

/** Hub status of each device of the deployment (optionally only one phase). */
async function statuses(id: string, phase?: number): Promise<Map<string, string>> {
  const d = await detail(id);
  return new Map(d.devices.filter((x) => phase === undefined || x.phase === phase).map((x) => [x.deviceId, x.status]));
}

function count(map: Map<string, string>, pred: (status: string) => boolean): number {
  return [...map.values()].filter(pred).length;
}

async function waitAll(id: string, phase: number, what: string, pred: (status: string) => boolean, timeoutMs = PHASE_MS): Promise<Map<string, string>> {
  let last = new Map<string, string>();
  try {
    await waitFor(
      `every device of phase ${phase} ${what}`,
      async () => {
        last = await statuses(id, phase);
        return last.size > 0 && count(last, pred) === last.size;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    const tally: Record<string, number> = {};
    for (const s of last.values()) tally[s] = (tally[s] ?? 0) + 1;
    throw new Error(`${(err as Error).message}; statuses now: ${JSON.stringify(tally)}; simulator: ${JSON.stringify(sim.counts())}`);
  }
  return last;
}

function continueAll(id: string) {
  return call(operators, operators.continueDeployment, { id, stage: '', phase: 0, deviceIds: [] }, admin);
}

function slotOf(dir: string): string {
  return readFileSync(join(dir, 'bootloader/cmdline'), 'utf8').trim();
}

function devDir(index: number): string {
  return join(work.path, 'devices', simDeviceName(index));
}

describe('rollout control with 200 simulated devices', () => {
  it('a device killed with SIGKILL while paused stays paused after the restart, then continues', async () => {
    const index = DEVICES + 1;
    const dir = join(work.path, 'killed');
    const own = join(dir, simDeviceName(index));
    mkdirSync(own, { recursive: true });
    const k = await loadOrCreateIdentityKey(own, { durable: false });
    const deviceId = (await call(operators, operators.preauthorizeDevice, { publicKey: k.publicKey, identity: simIdentity('sim-device', k.publicKey) }, admin)).id;
    // Boot limit 2: the power-on after the kill while on trial (paused before
    // the commit) is the trial slot's second boot, which it may have.
    const args = ['sim', '--hub', hubAddress, '--ca', caFile, '--devices', '1', '--start-index', String(index), '--state', dir, '--spread-ms', '0', '--artifact-key', keyFile, '--bootlimit', '2'];
    const power = (): Program => {
      const p = startProgram('fleet-agent', args);
      programs.push(p);
      return p;
    };
    let device = power();
    const dep = await call(operators, operators.createDeployment, deploymentRequest({ name: 'killed while paused', artifactId, deviceIds: [deviceId] }, { pauseBefore: ['reboot', 'commit'] }), admin);
    const status = async () => (await detail(dep.id)).devices[0].status;
    const online = async () => (await call(operators, operators.getDevice, { id: deviceId }, admin)).online;

    for (const [stage, slot] of [['reboot', 'fleet.slot=a'], ['commit', 'fleet.slot=b']] as const) {
      await waitFor(`paused-before-${stage}`, async () => (await status()) === `paused-before-${stage}`, PHASE_MS, 200);
      expect(await device.kill9()).toBe('SIGKILL');
      await waitFor('the hub to see the device gone', async () => !(await online()), 15_000, 100);
      device = power();
      await waitFor('the restarted device online', online, PHASE_MS, 200);
      // It re-sent its state: still paused, on the same slot, not downloading again.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await status()).toBe(`paused-before-${stage}`);
      expect(slotOf(own)).toBe(slot);
      expect(JSON.parse(readFileSync(join(own, 'update/state.json'), 'utf8'))).toMatchObject({ paused: stage });
      await continueAll(dep.id);
    }
    await waitFor('success', async () => (await status()) === 'success', PHASE_MS, 200);
    expect(slotOf(own)).toBe('fleet.slot=b');
    const log = (await call(operators, operators.getDeploymentLog, { deploymentId: dep.id, deviceId }, admin)).lines.join('\n');
    expect(log.match(/downloaded fleetos 2\.0\.0/g)).toHaveLength(1);
    expect(log.match(/writing fleetos-2\.0\.0\.img/g)).toHaveLength(1);
    await device.stop();
  }, 120_000);

  it('phases advance by themselves, one continue installs a whole paused phase, resume starts a phase that became due while halted, 6 % failures halt it at 5 %, abort', async () => {
    const t0 = Date.now();
    const rollout: Partial<RolloutOptions> = {
      phases: [
        { percent: 10, count: 0, startMs: 0, manual: false, successPercent: 80, maxFailures: undefined },
        { percent: 40, count: 0, startMs: 0, manual: false, successPercent: 80, maxFailures: undefined },
        { percent: 50, count: 0, startMs: 0, manual: false, successPercent: 0, maxFailures: undefined },
      ],
      pauseBefore: ['reboot'],
      maxFailures: { count: 0, percent: 5 },
    };
    const dep = await call(operators, operators.createDeployment, deploymentRequest({ name: 'phased', artifactId, deviceIds: [...idOf.values()] }, rollout), admin);
    const planned = await detail(dep.id);
    const phaseOf = new Map(planned.devices.map((d) => [d.deviceId, d.phase ?? 0]));
    const inPhase = (p: number): number[] => [...phaseOf].filter(([, ph]) => ph === p).map(([id]) => indexOf.get(id)!).sort((a, b) => a - b);
    expect([1, 2, 3].map((p) => inPhase(p).length)).toEqual([20, 80, 100]);
    // 12 of 200 (6 %) fail their health check: 1 in phase 1, 11 in phase 2.
    for (const i of [...inPhase(1).slice(0, 1), ...inPhase(2).slice(0, 11)]) failing.add(i);
    expect(failing.size).toBe(12);

    const timings: Record<string, number> = {};
    const phase2Good = inPhase(2).filter((i) => !failing.has(i));
    for (const phase of [1, 2]) {
      // The phase's devices download, install and stop before the reboot; later phases get nothing.
      const tPhase = Date.now();
      await waitAll(dep.id, phase, 'paused before the reboot', (s) => s === 'paused-before-reboot');
      timings[`phase ${phase}: start → all paused`] = Date.now() - tPhase;
      for (const i of inPhase(phase)) expect(slotOf(devDir(i))).toBe('fleet.slot=a');
      for (const later of [phase + 1, 3]) {
        expect(count(await statuses(dep.id, later), (s) => s === 'pending')).toBe(inPhase(later).length);
        for (const i of inPhase(later)) expect(existsSync(join(devDir(i), 'update/state.json'))).toBe(false);
      }
      if (phase === 2) break;
      // Phase 1: one continue for the whole deployment installs the whole phase.
      const tContinue = Date.now();
      await continueAll(dep.id);
      const done = await waitAll(dep.id, phase, 'final', (s) => FINAL.has(s));
      timings[`phase ${phase}: continue → all committed or rolled back`] = Date.now() - tContinue;
      const failed = inPhase(phase).filter((i) => failing.has(i));
      expect(count(done, (s) => s === 'success')).toBe(inPhase(phase).length - failed.length);
      for (const i of failed) expect(done.get(idOf.get(i)!)).toBe('rolled-back');
      for (const i of inPhase(phase)) expect(slotOf(devDir(i))).toBe(failing.has(i) ? 'fleet.slot=a' : 'fleet.slot=b');
    }

    // Phase 2: its 69 healthy devices are continued and the deployment is
    // paused by hand right away: devices at work go on and commit while it is
    // halted, so phase 2 reaches its 80 % success threshold while phase 3
    // must still wait; resume starts it.
    const tGood = Date.now();
    await call(operators, operators.continueDeployment, { id: dep.id, stage: '', phase: 0, deviceIds: phase2Good.map((i) => idOf.get(i)!) }, admin);
    const paused = await call(operators, operators.pauseDeployment, { id: dep.id, reason: 'checking phase 2' }, admin);
    expect(paused.status).toBe('halted');
    let good = new Map<string, string>();
    await waitFor('the 69 healthy devices of phase 2 committed', async () => count((good = await statuses(dep.id, 2)), (s) => s === 'success') === phase2Good.length, PHASE_MS, 250);
    timings['phase 2: continue of its 69 healthy devices → all committed'] = Date.now() - tGood;
    for (const i of inPhase(2).filter((x) => failing.has(x))) expect(good.get(idOf.get(i)!)).toBe('paused-before-reboot');
    for (const i of phase2Good) expect(slotOf(devDir(i))).toBe('fleet.slot=b');
    await new Promise((r) => setTimeout(r, 1_500)); // a scheduler tick and a report flush: nothing may start while halted
    const waiting = await detail(dep.id);
    expect(waiting.deployment!.haltReason).toBe('checking phase 2');
    expect(waiting.deployment!.rollout!.phases.map((p) => p.status)).toEqual(['started', 'started', 'waiting']);
    expect(count(await statuses(dep.id, 3), (s) => s === 'pending')).toBe(inPhase(3).length);
    for (const i of inPhase(3)) expect(existsSync(join(devDir(i), 'update/state.json'))).toBe(false);
    const tResume3 = Date.now();
    const resumed = await call(operators, operators.resumeDeployment, { id: dep.id }, admin);
    expect(resumed.status).toBe('active');
    expect(resumed.rollout!.phases[2]).toMatchObject({ status: 'started' });
    expect(resumed.rollout!.phases[2].startedMs).toBeGreaterThanOrEqual(tResume3 - 1_000);
    await waitAll(dep.id, 3, 'paused before the reboot', (s) => s === 'paused-before-reboot');
    timings['phase 3: resume → all paused'] = Date.now() - tResume3;

    // The 11 failing devices of phase 2: the 11th failure overall (the 10th of
    // phase 2) exceeds 5 % of 200 and halts the deployment with the reason.
    const tFail = Date.now();
    await call(operators, operators.continueDeployment, { id: dep.id, stage: '', phase: 0, deviceIds: inPhase(2).filter((i) => failing.has(i)).map((i) => idOf.get(i)!) }, admin);
    const done2 = await waitAll(dep.id, 2, 'final', (s) => FINAL.has(s));
    timings['phase 2: continue of its 11 failing devices → all rolled back'] = Date.now() - tFail;
    for (const i of inPhase(2)) expect(done2.get(idOf.get(i)!)).toBe(failing.has(i) ? 'rolled-back' : 'success');
    for (const i of inPhase(2)) expect(slotOf(devDir(i))).toBe(failing.has(i) ? 'fleet.slot=a' : 'fleet.slot=b');
    const halted = await detail(dep.id);
    expect(halted.deployment!.status).toBe('halted');
    expect(halted.deployment!.haltReason).toMatch(/^1[12] of 200 devices failed, more than the deployment's threshold of 5%/);
    const failures = halted.devices.filter((d) => d.status === 'rolled-back');
    expect(failures.map((d) => indexOf.get(d.deviceId)!).sort((a, b) => a - b)).toEqual([...failing].sort((a, b) => a - b));
    expect(failures[0].reason).toMatch(/health check failed: .*simulated health-check failure/);
    // While halted a continue is refused and phase 3's devices stay at their pause.
    await expect(continueAll(dep.id)).rejects.toMatchObject({ code: 9, details: expect.stringMatching(/resume it first/) });
    await new Promise((r) => setTimeout(r, 1_000));
    for (const [, s] of await statuses(dep.id, 3)) expect(s).toBe('paused-before-reboot');
    for (const i of inPhase(3)) expect(slotOf(devDir(i))).toBe('fleet.slot=a');

    // Resume: active again; the failures that halted it do not halt it again.
    expect((await call(operators, operators.resumeDeployment, { id: dep.id }, admin)).status).toBe('active');
    await new Promise((r) => setTimeout(r, 500));
    expect((await detail(dep.id)).deployment!.status).toBe('active');

    // Abort: the paused devices undo what they installed and report aborted; committed ones stay.
    await call(operators, operators.abortDeployment, { id: dep.id }, admin);
    const tAbort = Date.now();
    await waitAll(dep.id, 3, 'aborted', (s) => s === 'aborted');
    timings['phase 3: abort → all aborted'] = Date.now() - tAbort;
    const end = await detail(dep.id);
    expect(end.deployment!.status).toBe('aborted');
    expect(end.deployment!.counts).toMatchObject({ success: 188 - 100, 'rolled-back': 12, aborted: 100 });
    for (const i of inPhase(3)) {
      expect(slotOf(devDir(i))).toBe('fleet.slot=a');
      expect(readFileSync(join(devDir(i), 'bootloader/env'), 'utf8')).toMatch(/fleet_boot_part=a\n[^]*upgrade_available=0\n/);
    }
    const history = end.history!.entries.map((e) => e.action);
    expect(history).toEqual(expect.arrayContaining(['created', 'phase-started', 'continued', 'paused', 'halted', 'resumed', 'aborted']));
    // Phase 3 was started by the first resume (same transaction, right after it).
    expect(history[history.indexOf('resumed') + 1]).toBe('phase-started');
    console.log(`rollout figures (${DEVICES} devices, ${IMAGE_SIZE / 1024} KiB image): ${JSON.stringify({ ...timings, total: Date.now() - t0 }, null, 1)}`);
  }, 180_000);
});
