import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../testing/test-hub';
import { DEPLOYMENT_LOG_LINES } from './deployment-rows';
import { openSqliteStore, type SqliteStore } from './sqlite-store';
import type { ArtifactRecord, DeploymentDeviceStatus, NewDeployment, UpdateReportRecord } from './store';

let dir: string;
let store: SqliteStore;

const artifact: ArtifactRecord = {
  id: 'a'.repeat(64),
  name: 'os',
  version: '2',
  group: 'os',
  deviceTypes: ['board'],
  provides: {},
  size: 1000,
  signatureStatus: 'trusted',
  keyId: 'k',
  uploadedMs: 1,
  uploadedBy: 'test',
  payloadSummary: 'rootfs-image (gzip)',
};

beforeEach(async () => {
  dir = makeTempDir('fleet-deploy-store-');
  store = openSqliteStore(join(dir, 'hub.db'));
  await store.addArtifact(artifact);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function devices(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `dev-${String(i).padStart(5, '0')}`;
    await store.preauthorizeDevice({ id, publicKey: randomBytes(32), identity: { device_type: 'board' } }, 'test');
    ids.push(id);
  }
  return ids;
}

function deployment(ids: string[], status: DeploymentDeviceStatus = 'pending', id = `dep-${Math.random()}`): NewDeployment {
  return {
    id,
    name: 'os 2',
    artifact,
    allowDowngrade: false,
    force: false,
    createdBy: 'ops',
    createdMs: Date.now(),
    targets: ids.map((deviceId) => ({ deviceId, status, reason: '' })),
  };
}

const report = (deploymentId: string, deviceId: string, status: DeploymentDeviceStatus, seq: number, logLines: string[] = []): UpdateReportRecord => ({
  deploymentId,
  deviceId,
  status,
  seq,
  bytesDone: seq,
  bytesTotal: 100,
  reason: '',
  logLines,
  atMs: Date.now(),
});

describe('deployment storage', () => {
  it('applies only newer reports and never replaces a final status with a non-final one', async () => {
    const [a] = await devices(1);
    const dep = await store.createDeployment(deployment([a]));
    const status = async () => (await store.getDeploymentDevice(dep.id, a))!;
    await store.applyUpdateReports([report(dep.id, a, 'downloading', 5, ['five'])]);
    await store.applyUpdateReports([report(dep.id, a, 'installing', 4, ['four'])]);
    expect(await status()).toMatchObject({ status: 'downloading', seq: 5, bytesDone: 5 });
    const applied = await store.applyUpdateReports([report(dep.id, a, 'failure', 6, ['six'])]);
    expect(applied).toEqual({ finals: [{ deploymentId: dep.id, deviceId: a, status: 'failure' }], finished: [dep.id], retried: [], halted: [], phasesStarted: [] });
    await store.applyUpdateReports([report(dep.id, a, 'downloading', 7, ['seven'])]);
    expect(await status()).toMatchObject({ status: 'failure', seq: 6 });
    // A newer final status is the device's newer truth.
    await store.applyUpdateReports([report(dep.id, a, 'rolled-back', 8, ['eight'])]);
    expect(await status()).toMatchObject({ status: 'rolled-back', seq: 8 });
    expect(await store.deploymentLog(dep.id, a)).toEqual(['five', 'six', 'eight']);
    expect(await store.getDeployment(dep.id)).toMatchObject({ status: 'finished', counts: { 'rolled-back': 1 } });
  });

  it(`keeps the newest ${DEPLOYMENT_LOG_LINES} log lines per device and deployment`, async () => {
    const [a, b] = await devices(2);
    const dep = await store.createDeployment(deployment([a, b]));
    const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `line ${from + i}`);
    for (let i = 0; i < 3; i++) await store.applyUpdateReports([report(dep.id, a, 'downloading', i + 1, lines(i * 3000, 3000))]);
    const log = await store.deploymentLog(dep.id, a);
    expect(log).toHaveLength(DEPLOYMENT_LOG_LINES);
    expect(log[0]).toBe(`line ${9000 - DEPLOYMENT_LOG_LINES}`);
    expect(log.at(-1)).toBe('line 8999');
    // One report larger than the cap.
    await store.applyUpdateReports([report(dep.id, b, 'downloading', 1, lines(0, 6000))]);
    const logB = await store.deploymentLog(dep.id, b);
    expect([logB.length, logB[0], logB.at(-1)]).toEqual([DEPLOYMENT_LOG_LINES, 'line 1000', 'line 5999']);
  });

  it('aborts: pending become aborted, work in progress stays until the device reports', async () => {
    const [a, b] = await devices(2);
    const dep = await store.createDeployment(deployment([a, b]));
    await store.applyUpdateReports([report(dep.id, b, 'installing', 1)]);
    const result = (await store.abortDeployment(dep.id, 'ops'))!;
    expect(result).toMatchObject({ abortedPending: [a], inProgress: [b], deployment: { status: 'aborted', abortedBy: 'ops', finishedMs: 0 } });
    expect(result.deployment.abortedMs).toBeGreaterThan(0);
    expect(await store.openDeployments(a)).toEqual([]);
    expect((await store.openDeployments(b)).map((d) => d.id)).toEqual([dep.id]);
    await store.applyUpdateReports([report(dep.id, b, 'aborted', 2)]);
    expect(await store.getDeployment(dep.id)).toMatchObject({ status: 'aborted', counts: { aborted: 2 } });
    expect((await store.getDeployment(dep.id))!.finishedMs).toBeGreaterThan(0);
    await expect(store.abortDeployment(dep.id, 'ops')).resolves.toMatchObject({ abortedPending: [], inProgress: [] });
    expect(await store.abortDeployment('nope', 'ops')).toBeUndefined();
  });

  it('handles a deployment to 1,000 devices quickly', async () => {
    const ids = await devices(1000);
    let t0 = performance.now();
    const dep = await store.createDeployment(deployment(ids));
    const createMs = performance.now() - t0;
    expect(dep).toMatchObject({ total: 1000, counts: { pending: 1000 } });

    t0 = performance.now();
    const batch = ids.map((id, i) => report(dep.id, id, 'downloading', 1, [`progress ${i}`]));
    await store.applyUpdateReports(batch);
    const reportsMs = performance.now() - t0;

    t0 = performance.now();
    const rows = await store.deploymentDevices(dep.id);
    const detail = await store.getDeployment(dep.id);
    const readMs = performance.now() - t0;
    expect(rows).toHaveLength(1000);
    expect(detail?.counts).toEqual({ downloading: 1000 });

    t0 = performance.now();
    for (const id of ids) await store.openDeployments(id);
    const nextMs = performance.now() - t0;

    t0 = performance.now();
    await store.applyUpdateReports(ids.map((id) => report(dep.id, id, 'success', 2)));
    const finalsMs = performance.now() - t0;
    expect(await store.getDeployment(dep.id)).toMatchObject({ status: 'finished', counts: { success: 1000 } });

    console.log(
      `1,000 devices: create ${createMs.toFixed(1)} ms, 1,000 progress reports in one batch ${reportsMs.toFixed(1)} ms, ` +
        `read all statuses + counts ${readMs.toFixed(1)} ms, 1,000 next-deployment lookups ${nextMs.toFixed(1)} ms, 1,000 final reports ${finalsMs.toFixed(1)} ms`,
    );
    // Generous bounds for a shared 2-core CI machine; typical figures are ~10x lower.
    expect(createMs).toBeLessThan(1000);
    expect(reportsMs).toBeLessThan(1000);
    expect(readMs).toBeLessThan(300);
  }, 60_000);

  it('applies a final report in a time that does not grow with the size of the deployment', async () => {
    // The hub writes final reports at once, often one per batch: what it
    // does per batch (thresholds, phase starts, "is any device still open")
    // must not count all the deployment's devices each time, or 10,000
    // devices committing cost 10,000 x O(10,000).
    const ids = await devices(5000);
    const perFinal = async (targets: string[], n: number) => {
      const dep = await store.createDeployment(deployment(targets));
      const t0 = performance.now();
      for (const id of targets.slice(0, n)) await store.applyUpdateReports([report(dep.id, id, 'success', 1)]);
      return (performance.now() - t0) / n;
    };
    await perFinal(ids.slice(0, 100), 100); // warm up statements and pages
    const small = await perFinal(ids.slice(0, 500), 400);
    const large = await perFinal(ids, 400);
    console.log(`one final report per batch: ${(small * 1000).toFixed(0)} µs at 500 devices, ${(large * 1000).toFixed(0)} µs at 5,000`);
    // O(devices) per batch made this ~7x; the margin is for a noisy machine.
    expect(large).toBeLessThan(small * 3);
  }, 60_000);
});
