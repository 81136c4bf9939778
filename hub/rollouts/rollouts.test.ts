import { status } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../../proto/gen/fleet/v1/console';
import { deviceIdFromKey } from '../auth/device-key';
import { acceptedDevice, nextCommand, online, quiet, uploadTestArtifact } from '../testing/fleet-fixtures';
import { call, eventually, rejection } from '../testing/grpc-clients';
import { sendReport, startRolloutFleet, type RolloutFleet } from '../testing/rollout-fleet';
import { assignPhases } from './phase-plan';
import { rolloutFromOptions } from './rollout-config';

// Phases, failure thresholds, halt/resume, retries and history against a real
// hub over TLS, devices being real gRPC control streams.

let f: RolloutFleet;
let os: Artifact;

beforeAll(async () => {
  f = await startRolloutFleet();
  os = (await uploadTestArtifact(f.t, f.operators, { name: 'os', version: '3.0', deviceTypes: ['board-a'], seed: 3 })).artifact;
}, 30_000);

afterAll(async () => {
  await f?.dispose();
});

const phase = (size: { percent?: number; count?: number }, more: { manual?: boolean; startMs?: number; successPercent?: number } = {}) => ({
  percent: size.percent ?? 0,
  count: size.count ?? 0,
  startMs: more.startMs ?? 0,
  manual: more.manual ?? false,
  successPercent: more.successPercent ?? 0,
  maxFailures: undefined,
});

async function fleetOf(n: number) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await f.connected());
  return out;
}

describe('phases', () => {
  it('assigns devices reproducibly, commands only the started phase, and advances automatically on success', async () => {
    const ds = await fleetOf(6);
    const rollout = { phases: [phase({ count: 2 }), phase({ count: 3 }), phase({})] };
    const dep = await f.create({ artifactId: os.id, deviceIds: ds.map((d) => d.id) }, rollout);
    const expected = assignPhases(dep.id, ds.map((d) => d.id), rolloutFromOptions({ ...rollout, pauseBefore: [], window: undefined, maxFailures: undefined, retries: 0, dynamicGroup: '', maxDevices: 0 }).phases);
    const detail = await f.detail(dep.id);
    expect(detail.devices.map((d) => [d.deviceId, d.phase])).toEqual(detail.devices.map((d) => [d.deviceId, expected.get(d.deviceId)]));
    expect(detail.deployment?.rollout?.phases.map((p) => [p.number, p.status, p.total])).toEqual([
      [1, 'started', 2],
      [2, 'waiting', 3],
      [3, 'waiting', 1],
    ]);
    const inPhase = (n: number) => ds.filter((d) => expected.get(d.id) === n);

    for (const d of inPhase(1)) expect(commandOf(await nextCommand(d.stream))).toBe(dep.id);
    for (const d of [...inPhase(2), ...inPhase(3)]) expect(await quiet(d.stream, 100)).toBe(true);

    const [first, second] = inPhase(1);
    sendReport(first.stream, { deploymentId: dep.id, status: 'success', seq: 1 });
    // Half of phase 1 is not 100%: nothing moves.
    expect(await quiet(inPhase(2)[0].stream, 300)).toBe(true);
    sendReport(second.stream, { deploymentId: dep.id, status: 'success', seq: 1 });
    for (const d of inPhase(2)) expect(commandOf(await nextCommand(d.stream))).toBe(dep.id);
    expect(await quiet(inPhase(3)[0].stream, 100)).toBe(true);
    for (const d of inPhase(2)) sendReport(d.stream, { deploymentId: dep.id, status: 'success', seq: 1 });
    expect(commandOf(await nextCommand(inPhase(3)[0].stream))).toBe(dep.id);

    const after = await f.detail(dep.id);
    expect(after.deployment?.rollout?.phases.map((p) => p.status)).toEqual(['started', 'started', 'started']);
    const started = after.history?.entries.filter((e) => e.action === 'phase-started');
    expect(started?.map((e) => [e.actor, e.details.phase, e.details.why])).toEqual([
      ['hub', '2', 'phase 1 reached 100% success'],
      ['hub', '3', 'phase 2 reached 100% success'],
    ]);
  });

  it('waits for a manual phase until ContinueDeployment names it, then commands its devices', async () => {
    const ds = await fleetOf(3);
    const dep = await f.create({ artifactId: os.id, deviceIds: ds.map((d) => d.id) }, { phases: [phase({ count: 1 }), phase({}, { manual: true })] });
    const devs = (await f.detail(dep.id)).devices;
    const one = ds.find((d) => devs.find((x) => x.deviceId === d.id)?.phase === 1)!;
    const rest = ds.filter((d) => d !== one);
    expect(commandOf(await nextCommand(one.stream))).toBe(dep.id);
    sendReport(one.stream, { deploymentId: dep.id, status: 'success', seq: 1 });
    await eventually(async () => (await f.detail(dep.id)).deployment?.counts.success === 1, 5000, 'phase 1 done');
    for (const d of rest) expect(await quiet(d.stream, 200)).toBe(true);

    const viewer = (await f.t.hub.store.createOperator('vic', 'viewer', 'test')).token;
    const { bearer } = await import('../testing/grpc-clients');
    expect((await rejection(call(f.operators, f.operators.continueDeployment, { id: dep.id, stage: '', phase: 2, deviceIds: [] }, bearer(viewer)))).code).toBe(status.PERMISSION_DENIED);
    expect((await rejection(call(f.operators, f.operators.continueDeployment, { id: dep.id, stage: '', phase: 5, deviceIds: [] }, f.admin))).details).toMatch(/has 2 phases; there is no phase 5/);
    const continued = await call(f.operators, f.operators.continueDeployment, { id: dep.id, stage: '', phase: 2, deviceIds: [] }, f.admin);
    expect(continued.rollout?.phases[1]).toMatchObject({ status: 'started' });
    for (const d of rest) expect(commandOf(await nextCommand(d.stream))).toBe(dep.id);
    const history = (await f.detail(dep.id)).history?.entries ?? [];
    expect(history.find((e) => e.action === 'phase-started')).toMatchObject({ actor: 'admin', details: { phase: '2', why: 'started by admin' } });
    // Nothing left to start nor release.
    expect((await rejection(call(f.operators, f.operators.continueDeployment, { id: dep.id, stage: '', phase: 0, deviceIds: [] }, f.admin))).code).toBe(status.FAILED_PRECONDITION);
  });

  it('starts a phase at its time', async () => {
    const ds = await fleetOf(2);
    const dep = await f.create({ artifactId: os.id, deviceIds: ds.map((d) => d.id) }, { phases: [phase({ count: 1 }), phase({}, { startMs: Date.now() + 1500 })] });
    const devs = (await f.detail(dep.id)).devices;
    const later = ds.find((d) => devs.find((x) => x.deviceId === d.id)?.phase === 2)!;
    expect(await quiet(later.stream, 700)).toBe(true);
    expect(commandOf(await nextCommand(later.stream, 5000))).toBe(dep.id);
    expect((await f.detail(dep.id)).history?.entries.find((e) => e.action === 'phase-started')?.details.why).toMatch(/^scheduled for /);
  });
});

describe('failure threshold, pause and resume', () => {
  it('halts when failures exceed the threshold: no new device starts, the reason is shown; resume and abort', async () => {
    const ds = await fleetOf(4);
    const late = await acceptedDevice(f.t, f.devices, 'board-a');
    const dep = await f.create({ artifactId: os.id, deviceIds: [...ds.map((d) => d.id), late.id] }, { maxFailures: { count: 1, percent: 0 } });
    for (const d of ds) commandOf(await nextCommand(d.stream));
    sendReport(ds[0].stream, { deploymentId: dep.id, status: 'failure', seq: 1, reason: 'disk full' });
    await eventually(async () => (await f.detail(dep.id)).deployment?.counts.failure === 1, 5000, 'one failure');
    expect((await f.detail(dep.id)).deployment?.status).toBe('active');
    sendReport(ds[1].stream, { deploymentId: dep.id, status: 'rolled-back', seq: 1, reason: 'health check failed' });
    const halted = await eventually(async () => {
      const d = (await f.detail(dep.id)).deployment!;
      return d.status === 'halted' ? d : undefined;
    }, 5000, 'halted');
    expect(halted.haltReason).toBe("2 of 5 devices failed, more than the deployment's threshold of 1 device");

    // A device coming online now gets nothing; devices at work go on.
    const lateStream = await online(f.devices, late);
    f.streams.push(lateStream);
    expect(await quiet(lateStream, 300)).toBe(true);
    sendReport(ds[2].stream, { deploymentId: dep.id, status: 'success', seq: 1 });
    await eventually(async () => (await f.detail(dep.id)).deployment?.counts.success === 1, 5000, 'in-progress device finished');
    expect((await f.detail(dep.id)).deployment?.status).toBe('halted');
    expect((await rejection(call(f.operators, f.operators.continueDeployment, { id: dep.id, stage: '', phase: 0, deviceIds: [] }, f.admin))).details).toMatch(/is halted .*resume it first/);

    const resumed = await call(f.operators, f.operators.resumeDeployment, { id: dep.id }, f.admin);
    expect(resumed).toMatchObject({ status: 'active', haltReason: '' });
    expect(commandOf(await nextCommand(lateStream))).toBe(dep.id);
    expect((await rejection(call(f.operators, f.operators.resumeDeployment, { id: dep.id }, f.admin))).details).toMatch(/is not halted/);

    // Another failure after the resume halts it again.
    sendReport(ds[3].stream, { deploymentId: dep.id, status: 'failure', seq: 1 });
    await eventually(async () => (await f.detail(dep.id)).deployment?.status === 'halted', 5000, 'halted again');
    const aborted = await call(f.operators, f.operators.abortDeployment, { id: dep.id }, f.admin);
    expect(aborted.status).toBe('aborted');
    expect((await nextCommand(lateStream)).msg).toEqual({ $case: 'abort', abort: { deploymentId: dep.id } });
    const actions = (await f.detail(dep.id)).history?.entries.map((e) => `${e.action}:${e.actor}`);
    expect(actions).toEqual(['created:admin', 'halted:hub', 'resumed:admin', 'halted:hub', 'aborted:admin', 'finished:admin']);
  });

  it('halts on a per-phase percent threshold', async () => {
    const ds = await fleetOf(4);
    const dep = await f.create(
      { artifactId: os.id, deviceIds: ds.map((d) => d.id) },
      { phases: [{ ...phase({ count: 4 }), maxFailures: { count: 0, percent: 25 } }, phase({})] },
    );
    for (const d of ds) commandOf(await nextCommand(d.stream));
    sendReport(ds[0].stream, { deploymentId: dep.id, status: 'failure', seq: 1 });
    await eventually(async () => (await f.detail(dep.id)).deployment?.counts.failure === 1, 5000, 'first failure');
    expect((await f.detail(dep.id)).deployment?.status).toBe('active');
    sendReport(ds[1].stream, { deploymentId: dep.id, status: 'failure', seq: 1 });
    const d = await eventually(async () => {
      const x = (await f.detail(dep.id)).deployment!;
      return x.status === 'halted' ? x : undefined;
    }, 5000, 'halted');
    expect(d.haltReason).toBe('2 of 4 devices of phase 1 failed, more than its threshold of 25%');
  });

  it('pauses and resumes by hand', async () => {
    const [a, b] = await fleetOf(2);
    const dep = await f.create({ artifactId: os.id, deviceIds: [a.id, b.id] }, { phases: [phase({ count: 1 }), phase({})] });
    const devs = (await f.detail(dep.id)).devices;
    const [first, second] = devs.find((d) => d.deviceId === a.id)?.phase === 1 ? [a, b] : [b, a];
    commandOf(await nextCommand(first.stream));
    const paused = await call(f.operators, f.operators.pauseDeployment, { id: dep.id, reason: '' }, f.admin);
    expect(paused).toMatchObject({ status: 'halted', haltReason: 'paused by admin' });
    sendReport(first.stream, { deploymentId: dep.id, status: 'success', seq: 1 });
    await eventually(async () => (await f.detail(dep.id)).deployment?.counts.success === 1, 5000, 'first done');
    // Phase 1 succeeded while halted: phase 2 waits for the resume.
    expect(await quiet(second.stream, 300)).toBe(true);
    await call(f.operators, f.operators.resumeDeployment, { id: dep.id }, f.admin);
    expect(commandOf(await nextCommand(second.stream))).toBe(dep.id);
    const actions = (await f.detail(dep.id)).history?.entries.map((e) => e.action);
    expect(actions).toEqual(['created', 'paused', 'resumed', 'phase-started']);
  });
});

describe('retries', () => {
  it('offers a failed device the deployment again with a higher attempt, ignores reports of the old attempt, and stops after N', async () => {
    const a = await f.connected();
    const dep = await f.create({ artifactId: os.id, deviceIds: [a.id] }, { retries: 1 });
    expect((await nextCommand(a.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id, attempt: undefined } });
    sendReport(a.stream, { deploymentId: dep.id, status: 'failure', seq: 3, reason: 'network' });
    expect((await nextCommand(a.stream)).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id, attempt: 1 } });
    let d = (await f.detail(dep.id)).devices[0];
    expect(d).toMatchObject({ status: 'pending', attempt: 1, reason: 'attempt 1 of 2 ended failure (network): offered again' });
    // The old attempt's final report re-sent with a new seq changes nothing.
    sendReport(a.stream, { deploymentId: dep.id, status: 'failure', seq: 4, reason: 'network' });
    sendReport(a.stream, { deploymentId: dep.id, status: 'downloading', seq: 1, attempt: 1 });
    await eventually(async () => (await f.detail(dep.id)).devices[0].status === 'downloading', 5000, 'second attempt downloading');
    sendReport(a.stream, { deploymentId: dep.id, status: 'rolled-back', seq: 2, attempt: 1, reason: 'health check' });
    d = await eventually(async () => {
      const x = (await f.detail(dep.id)).devices[0];
      return x.status === 'rolled-back' ? x : undefined;
    }, 5000, 'final rolled-back');
    expect(d.attempt).toBe(1);
    expect((await f.detail(dep.id)).deployment?.status).toBe('finished');
    expect(await quiet(a.stream, 200)).toBe(true);
  });
});

describe('scale', () => {
  it('creates, reads and continues a 3-phase deployment to 1,000 devices quickly', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const publicKey = randomBytes(32);
      ids.push((await f.t.hub.store.preauthorizeDevice({ id: deviceIdFromKey(publicKey), publicKey, identity: { device_type: 'board-a' } }, 'test')).id);
    }
    let t0 = performance.now();
    const dep = await f.create({ artifactId: os.id, deviceIds: ids }, { phases: [phase({ percent: 10 }), phase({ percent: 50 }), phase({})], pauseBefore: ['install'] });
    const createMs = performance.now() - t0;
    expect(dep.rollout?.phases.map((p) => p.total)).toEqual([100, 500, 400]);
    // Phase 1 downloads and waits at the pause.
    const phase1 = (await f.detail(dep.id)).devices.filter((d) => d.phase === 1).map((d) => d.deviceId);
    await f.t.hub.store.applyUpdateReports(phase1.map((deviceId) => ({ deploymentId: dep.id, deviceId, status: 'paused-before-install', bytesDone: 1, bytesTotal: 1, reason: '', seq: 2, logLines: [], atMs: Date.now() })));
    t0 = performance.now();
    const detail = await f.detail(dep.id);
    const getMs = performance.now() - t0;
    expect(detail.deployment?.rollout?.phases[0].counts).toEqual({ 'paused-before-install': 100 });
    t0 = performance.now();
    await call(f.operators, f.operators.continueDeployment, { id: dep.id, stage: '', phase: 1, deviceIds: [] }, f.admin);
    const continueMs = performance.now() - t0;
    expect(await f.t.hub.store.releaseLevel(dep.id, phase1[0])).toBe(1);
    t0 = performance.now();
    await call(f.operators, f.operators.listDeployments, { status: '', limit: 100 }, f.admin);
    const listMs = performance.now() - t0;
    console.log(`1,000 devices, 3 phases: CreateDeployment ${createMs.toFixed(0)} ms, GetDeployment ${getMs.toFixed(0)} ms, ContinueDeployment ${continueMs.toFixed(0)} ms, ListDeployments ${listMs.toFixed(0)} ms`);
    expect(createMs).toBeLessThan(2000);
    expect(getMs).toBeLessThan(1000);
    expect(continueMs).toBeLessThan(1000);
  }, 60_000);
});

function commandOf(m: Awaited<ReturnType<typeof nextCommand>>): string {
  if (m.msg?.$case !== 'deployment') throw new Error(`expected a DeploymentCommand, got ${JSON.stringify(m.msg)}`);
  return m.msg.deployment.deploymentId;
}
