import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildArtifact } from '../../../artifact/testing/fixtures';
import type { RunningHub } from '../../../hub/hub';
import { createConsoleApp, type ConsoleApp } from '../console-app';
import { createConsoleClient, unary } from '../hub-client/hub-connection';
import { startTestHub, TempDirs } from '../testing/test-fleet';

// The deployment and group API of the console services against a REAL hub.
// The targets are preauthorized devices that never connect, so every status
// is the hub's own decision (pending, incompatible, aborted).

const temp = new TempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  temp.removeAll();
});

async function connected(): Promise<{ hub: RunningHub; app: ConsoleApp }> {
  const hub = await startTestHub(join(temp.make('deploy-hub-'), 'hub'));
  cleanups.push(() => hub.close());
  const app = await createConsoleApp({ userDataDir: temp.make('deploy-console-') });
  cleanups.push(() => app.close());
  await app.api.connection.connect({ hub: hub.address, token: hub.adminToken, fingerprint: hub.fingerprint });
  await expect.poll(async () => (await app.api.connection.state()).phase, { timeout: 10_000 }).toBe('online');
  return { hub, app };
}

async function phantoms(hub: RunningHub, deviceType: string, n: number): Promise<string[]> {
  const client = createConsoleClient({ hub: hub.address, token: hub.adminToken, caPem: hub.certPem });
  try {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const d = await unary(client, client.preauthorizeDevice, { publicKey: randomBytes(32), identity: { device_type: deviceType } }, hub.adminToken);
      ids.push(d.id);
    }
    return ids.sort();
  } finally {
    client.close();
  }
}

async function uploadArtifact(app: ConsoleApp, version: string): Promise<string> {
  const bytes = await buildArtifact({ name: 'fleetos', version, deviceTypes: ['board-a'], payloads: [{ type: 'rootfs-image', name: 'r.img', data: randomBytes(1000) }] });
  const { uploadId } = await app.api.artifacts.uploadBegin({ fileName: 'a.fleet', size: bytes.length });
  await app.api.artifacts.uploadChunk(uploadId, 0, bytes.toString('base64'));
  return (await app.api.artifacts.uploadFinish(uploadId)).artifact.id;
}

describe('deployments and groups through the console API', () => {
  it('creates to devices and to a group, lists, reads, aborts, and reads a device history and log', async () => {
    const { hub, app } = await connected();
    const [a, b] = await phantoms(hub, 'board-a', 2);
    const [other] = await phantoms(hub, 'board-b', 1);
    const artifactId = await uploadArtifact(app, '1.0.0');

    const first = await app.api.deployments.create({ artifactId, deviceIds: [a, other, a] });
    expect(first).toMatchObject({ name: 'fleetos 1.0.0', artifactName: 'fleetos', artifactVersion: '1.0.0', status: 'active', total: 2, counts: { pending: 1, incompatible: 1 }, createdBy: 'admin' });
    const detail = await app.api.deployments.get(first.id);
    expect(detail.devices.map((d) => [d.deviceId, d.status])).toEqual([[a, 'pending'], [other, 'incompatible']].sort());
    expect(detail.devices.find((d) => d.deviceId === other)!.reason).toMatch(/device type "board-b"/);

    expect(await app.api.groups.setMembers(' lab ', { add: [a, b] })).toEqual({ name: 'lab', deviceIds: [a, b] });
    expect(await app.api.groups.list()).toEqual([{ name: 'lab', deviceIds: [a, b] }]);
    const second = await app.api.deployments.create({ artifactId, group: 'lab', name: 'lab rollout' });
    expect(second).toMatchObject({ name: 'lab rollout', total: 2 });

    expect((await app.api.deployments.list()).map((d) => d.id)).toEqual([second.id, first.id]);
    expect((await app.api.deployments.list({ status: 'active', limit: 1 })).map((d) => d.id)).toEqual([second.id]);

    const aborted = await app.api.deployments.abort(second.id);
    expect(aborted).toMatchObject({ status: 'aborted', abortedBy: 'admin', counts: { aborted: 2 } });
    expect((await app.api.deployments.list({ status: 'aborted' })).map((d) => d.id)).toEqual([second.id]);
    const history = await app.api.deployments.deviceHistory(a);
    expect(history.map((h) => [h.deploymentId, h.status, h.deploymentName])).toEqual([
      [second.id, 'aborted', 'lab rollout'],
      [first.id, 'pending', 'fleetos 1.0.0'],
    ]);
    expect(await app.api.deployments.deviceLog(first.id, a)).toEqual([]);
    expect((await app.api.groups.setMembers('lab', { remove: [a] })).deviceIds).toEqual([b]);
  });

  it('rolls out in phases with pauses: continue, pause (halted, with the reason), resume; dynamic groups and their live count; history', async () => {
    const { hub, app } = await connected();
    const ids = await phantoms(hub, 'board-a', 4);
    await phantoms(hub, 'board-b', 1);
    const artifactId = await uploadArtifact(app, '1.0.0');

    const d = await app.api.deployments.create({
      artifactId,
      deviceIds: ids,
      rollout: { phases: [{ percent: 50 }, { count: 2, manual: true }], pauseBefore: ['commit', 'reboot'], maxFailures: { percent: 25 }, retries: 1, window: { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'Europe/Oslo' } },
    });
    expect(d.rollout).toMatchObject({
      pauseBefore: ['reboot', 'commit'],
      maxFailures: { count: 0, percent: 25 },
      retries: 1,
      window: { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'Europe/Oslo' },
      phases: [
        { number: 1, status: 'started', total: 2, spec: { percent: 50, manual: false } },
        { number: 2, status: 'waiting', total: 2, spec: { count: 2, manual: true } },
      ],
    });
    expect(d.rollout!.nextWindowMs).toBeGreaterThan(Date.now());
    expect(d.haltReason).toBe('');

    expect((await app.api.deployments.continue(d.id, { phase: 2 })).rollout!.phases[1].status).toBe('started');
    const paused = await app.api.deployments.pause(d.id, 'looking at the logs');
    expect(paused).toMatchObject({ status: 'halted', haltReason: 'looking at the logs' });
    expect((await app.api.deployments.list({ status: 'halted' })).map((x) => x.id)).toEqual([d.id]);
    await expect(app.api.deployments.continue(d.id)).rejects.toThrow(/resume it first/);
    expect(await app.api.deployments.resume(d.id)).toMatchObject({ status: 'active', haltReason: '' });
    const detail = await app.api.deployments.get(d.id);
    expect(detail.devices.map((x) => x.phase).sort()).toEqual([1, 1, 2, 2]);
    expect(detail.history.map((h) => [h.action, h.actor])).toEqual([
      ['created', 'admin'],
      ['phase-started', 'admin'],
      ['paused', 'admin'],
      ['resumed', 'admin'],
    ]);
    expect(detail.history[2].details).toEqual({ reason: 'looking at the logs' });

    const query = { conditions: [{ attribute: 'device_type', op: 'eq' as const, value: 'board-a' }] };
    expect(await app.api.groups.preview(query)).toEqual({ matching: 4, sample: ids });
    expect(await app.api.groups.preview({ conditions: [{ attribute: 'device_type', op: 'in', values: ['board-a', 'board-b'] }] })).toMatchObject({ matching: 5 });
    expect(await app.api.groups.createDynamic(' boards ', query)).toMatchObject({ name: 'boards', matching: 4, createdBy: 'admin', window: null, query });
    await expect(app.api.groups.createDynamic('boards', query)).rejects.toThrow(/exists/);
    expect((await app.api.groups.listDynamic()).map((g) => g.name)).toEqual(['boards']);
    expect((await app.api.groups.getDynamic('boards')).deviceIds).toEqual(ids);
    const dyn = await app.api.deployments.create({ artifactId, rollout: { dynamicGroup: 'boards', maxDevices: 3 } });
    expect(dyn).toMatchObject({ total: 3, rollout: { dynamicGroup: 'boards', maxDevices: 3 } });
    expect(await app.api.groups.deleteDynamic('boards')).toMatchObject({ name: 'boards' });
    expect(await app.api.groups.listDynamic()).toEqual([]);

    await expect(app.api.deployments.create({ artifactId, deviceIds: ids, rollout: { phases: [{ percent: 10, count: 1 }] } })).rejects.toThrow(/phase 1 needs a size/);
    await expect(app.api.deployments.create({ artifactId, deviceIds: ids, rollout: { pauseBefore: ['download' as never] } })).rejects.toThrow(/unknown pause stage "download"/);
    await expect(app.api.deployments.continue(d.id, { phase: 1, deviceIds: [ids[0]] })).rejects.toThrow(/not both/);
    await expect(app.api.groups.preview({ conditions: [{ attribute: 'x', op: 'in', values: [] }] })).rejects.toThrow(/needs at least one value/);
    expect(await app.api.deployments.nextWindow({ cron: '0 2 * * *', durationMs: 0, timeZone: 'UTC' })).toMatchObject({ error: '' });
    expect((await app.api.deployments.nextWindow({ cron: '0 25 * * *', durationMs: 0, timeZone: '' })).error).not.toBe('');
  });

  it('refuses unclear requests before asking the hub, and passes on what the hub refuses', async () => {
    const { hub, app } = await connected();
    const [a] = await phantoms(hub, 'board-a', 1);
    const artifactId = await uploadArtifact(app, '1.0.0');
    await expect(app.api.deployments.create({ artifactId, deviceIds: [a], group: 'lab' })).rejects.toThrow('deploy to devices, a group or a dynamic group: only one of them');
    await expect(app.api.deployments.create({ artifactId })).rejects.toThrow(/no devices selected/);
    await expect(app.api.deployments.create({ artifactId: '', deviceIds: [a] })).rejects.toThrow('artifact id is empty');
    await expect(app.api.deployments.list({ status: 'done' as never })).rejects.toThrow(/unknown deployment status "done"/);
    await expect(app.api.groups.setMembers('lab', {})).rejects.toThrow('no change');
    await expect(app.api.deployments.create({ artifactId: 'f'.repeat(64), deviceIds: [a] })).rejects.toThrow(/no artifact with id/);
    await expect(app.api.deployments.create({ artifactId, deviceIds: ['nope'] })).rejects.toThrow(/unknown to this hub/);
    await expect(app.api.deployments.get('nope')).rejects.toThrow(/nope/);
  });

  it('explains that deployments need the hub when disconnected', async () => {
    const app = await createConsoleApp({ userDataDir: temp.make('deploy-offline-') });
    cleanups.push(() => app.close());
    await expect(app.api.deployments.list()).rejects.toThrow(/not connected to a hub — listing deployments needs the hub/);
    await expect(app.api.groups.list()).rejects.toThrow(/not connected to a hub — listing groups needs the hub/);
  });
});
