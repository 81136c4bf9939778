import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { buildArtifact } from '../../../artifact/testing/fixtures';
import { createConsoleApp } from '../console-app';
import { createConsoleClient, unary } from '../hub-client/hub-connection';
import { startTestHub, TempDirs } from '../testing/test-fleet';

// Group maintenance windows through the console API against a REAL hub:
// set on a static and a dynamic group, listed, taken by a deployment to
// the group, removed; mistakes refused before or by the hub.

const temp = new TempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  temp.removeAll();
});

it('sets, lists and removes windows of static and dynamic groups; a deployment to the group takes its window', async () => {
  const hub = await startTestHub(join(temp.make('windows-hub-'), 'hub'));
  cleanups.push(() => hub.close());
  const app = await createConsoleApp({ userDataDir: temp.make('windows-console-') });
  cleanups.push(() => app.close());
  await app.api.connection.connect({ hub: hub.address, token: hub.adminToken, fingerprint: hub.fingerprint });
  await expect.poll(async () => (await app.api.connection.state()).phase, { timeout: 10_000 }).toBe('online');
  const client = createConsoleClient({ hub: hub.address, token: hub.adminToken, caPem: hub.certPem });
  cleanups.push(async () => client.close());
  const device = await unary(client, client.preauthorizeDevice, { publicKey: randomBytes(32), identity: { device_type: 'board-a' } }, hub.adminToken);
  await app.api.groups.setMembers('lab', { add: [device.id] });
  await app.api.groups.createDynamic('boards', { conditions: [{ attribute: 'device_type', op: 'eq', value: 'board-a' }] });

  expect(await app.api.groups.windows()).toEqual([]);
  const night = { cron: '0 2 * * *', durationMs: 2 * 3600_000, timeZone: 'Europe/Oslo' };
  const t0 = Date.now();
  const after = await app.api.groups.setWindow(' lab ', false, night);
  expect(after).toEqual([{ group: 'lab', dynamic: false, window: night, setBy: 'admin', setMs: expect.any(Number) }]);
  expect(after[0].setMs).toBeGreaterThanOrEqual(t0 - 1000);
  const weekend = { cron: '30 1 * * sat,sun', durationMs: 30 * 60_000, timeZone: '' };
  expect((await app.api.groups.setWindow('boards', true, weekend)).map((w) => [w.group, w.dynamic, w.window.cron])).toEqual([
    ['lab', false, '0 2 * * *'],
    ['boards', true, '30 1 * * sat,sun'],
  ]);
  expect((await app.api.groups.listDynamic())[0].window).toEqual(weekend);

  // A deployment to the group without a window of its own takes the group's.
  const data = await buildArtifact({ name: 'fleetos', version: '1.0.0', deviceTypes: ['board-a'], payloads: [{ type: 'rootfs-image', name: 'r.img', data: randomBytes(100) }] });
  const { uploadId } = await app.api.artifacts.uploadBegin({ fileName: 'a.fleet', size: data.length });
  await app.api.artifacts.uploadChunk(uploadId, 0, data.toString('base64'));
  const artifactId = (await app.api.artifacts.uploadFinish(uploadId)).artifact.id;
  expect((await app.api.deployments.create({ artifactId, group: 'lab' })).rollout?.window).toEqual(night);

  expect(await app.api.groups.setWindow('lab', false, null)).toEqual([expect.objectContaining({ group: 'boards', dynamic: true })]);
  await expect(app.api.groups.setWindow('lab', false, { cron: '0 2 * *', durationMs: 3600_000, timeZone: '' })).rejects.toThrow(/5 fields/);
  await expect(app.api.groups.setWindow('lab', false, { cron: '0 2 * * *', durationMs: 1000, timeZone: '' })).rejects.toThrow(/1 minute to 7 days/);
  await expect(app.api.groups.setWindow('lab', false, { cron: '0 2 * * *', durationMs: 3600_000, timeZone: 'Mars/Olympus' })).rejects.toThrow(/Mars\/Olympus/);
  await expect(app.api.groups.setWindow('nope', true, night)).rejects.toThrow(/nope/);
  expect(await app.api.groups.windows()).toHaveLength(1);
});
