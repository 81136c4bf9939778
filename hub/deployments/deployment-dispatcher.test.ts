import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceSessions } from '../device/device-sessions';
import { PresenceWriter } from '../device/presence-writer';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store';
import { defaultRollout } from '../rollouts/rollout-config';
import type { ArtifactRecord } from '../store/store';
import { makeTempDir } from '../testing/test-hub';
import { DeploymentDispatcher } from './deployment-dispatcher';

// The dispatcher against a real store, without connections: what 1,000
// devices reporting progress every second cost the hub.

let dir: string;
let store: SqliteStore;
let dispatcher: DeploymentDispatcher;
const logs: string[] = [];

const artifact: ArtifactRecord = {
  id: 'b'.repeat(64),
  name: 'os',
  version: '2',
  group: 'os',
  deviceTypes: ['board'],
  provides: {},
  size: 10_000_000,
  signatureStatus: 'trusted',
  keyId: 'k',
  uploadedMs: 1,
  uploadedBy: 'test',
  payloadSummary: 'rootfs-image (gzip)',
};

beforeEach(async () => {
  dir = makeTempDir('fleet-dispatcher-');
  store = openSqliteStore(join(dir, 'hub.db'));
  await store.addArtifact(artifact);
  const sessions = new DeviceSessions(new PresenceWriter(store, 100, () => {}), 30_000);
  dispatcher = new DeploymentDispatcher(store, sessions, (line) => logs.push(line), 250);
  dispatcher.start();
});

afterEach(async () => {
  await dispatcher.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DeploymentDispatcher', () => {
  it('writes progress of 1,000 devices in a few batched transactions per second', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = `dev-${i}`;
      await store.preauthorizeDevice({ id, publicKey: randomBytes(32), identity: { device_type: 'board' } }, 'test');
      ids.push(id);
    }
    const dep = await store.createDeployment({
      id: 'dep-1',
      name: 'os 2',
      artifact,
      allowDowngrade: false,
      force: false,
      createdBy: 'ops',
      createdMs: Date.now(),
      targets: ids.map((deviceId) => ({ deviceId, status: 'pending', reason: '' })),
    });
    let transactions = 0;
    const apply = store.applyUpdateReports.bind(store);
    store.applyUpdateReports = (reports) => {
      transactions++;
      return apply(reports);
    };

    const rounds = 3;
    const started = performance.now();
    let handlingMs = 0;
    for (let seq = 1; seq <= rounds; seq++) {
      const t0 = performance.now();
      for (const id of ids) {
        await dispatcher.onReport(id, { deploymentId: dep.id, artifactId: artifact.id, status: 'downloading', bytesDone: seq * 1000, bytesTotal: artifact.size, reason: '', logLines: [`t${seq} at ${seq * 1000}`], seq });
      }
      handlingMs += performance.now() - t0;
      await new Promise((r) => setTimeout(r, 300));
    }
    await dispatcher.flush();
    const elapsedMs = performance.now() - started;

    const rows = await store.deploymentDevices(dep.id);
    expect(rows.every((r) => r.status === 'downloading' && r.bytesDone === rounds * 1000 && r.seq === rounds)).toBe(true);
    expect(await store.deploymentLog(dep.id, ids[0])).toEqual(['t1 at 1000', 't2 at 2000', 't3 at 3000']);
    console.log(`1,000 devices x ${rounds} progress reports: ${(handlingMs / rounds).toFixed(1)} ms of hub time per round, ${transactions} transactions in ${elapsedMs.toFixed(0)} ms`);
    // One transaction per 250 ms tick with something to write, not one per report.
    expect(transactions).toBeLessThanOrEqual(Math.ceil(elapsedMs / 250) + 2);
    expect(handlingMs / rounds).toBeLessThan(1000);
  }, 30_000);

  it('judges 1,000 pause reports and a release of 1,000 paused devices quickly', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      await store.preauthorizeDevice({ id: `p-${i}`, publicKey: randomBytes(32), identity: { device_type: 'board' } }, 'test');
      ids.push(`p-${i}`);
    }
    const dep = await store.createDeployment({
      id: 'dep-pause',
      name: 'os 2',
      artifact,
      allowDowngrade: false,
      force: false,
      createdBy: 'ops',
      createdMs: Date.now(),
      targets: ids.map((deviceId) => ({ deviceId, status: 'pending', reason: '', phase: 1 })),
      rollout: { ...defaultRollout(), pauseBefore: ['install'] },
    });
    let t0 = performance.now();
    for (const id of ids) {
      await dispatcher.onReport(id, { deploymentId: dep.id, artifactId: artifact.id, status: 'paused-before-install', bytesDone: 1, bytesTotal: 1, reason: '', logLines: [], seq: 1 });
    }
    const reportsMs = performance.now() - t0;
    await store.continueDeployment(dep.id, { phase: 0, deviceIds: [] }, 'ops');
    t0 = performance.now();
    await dispatcher.releasePaused(dep.id);
    const releaseMs = performance.now() - t0;
    expect(await store.pausedDevices(dep.id)).toHaveLength(1000);
    console.log(`1,000 pause reports judged in ${reportsMs.toFixed(0)} ms; releasing 1,000 paused devices (flush + read + decide) ${releaseMs.toFixed(0)} ms`);
    expect(reportsMs).toBeLessThan(3000);
    expect(releaseMs).toBeLessThan(1000);
  }, 30_000);

  it('ignores reports for unknown deployments or non-targets, with a log line', async () => {
    await dispatcher.onReport('ghost', { deploymentId: 'nope', artifactId: '', status: 'downloading', bytesDone: 0, bytesTotal: 0, reason: '', logLines: [], seq: 1 });
    await dispatcher.onReport('ghost', { deploymentId: 'nope', artifactId: '', status: 'exploded', bytesDone: 0, bytesTotal: 0, reason: '', logLines: [], seq: 1 });
    expect(logs.slice(-2)).toEqual([
      'update report from device ghost ignored: it is not a target of deployment "nope"',
      'update report from device ghost for deployment nope ignored: unknown status "exploded"',
    ]);
  });
});
