import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../../proto/gen/fleet/v1/console';
import type { HubMessage } from '../../proto/gen/fleet/v1/device';
import type { ControlStream } from '../testing/control-stream';
import { nextCommand, online, quiet, uploadTestArtifact } from '../testing/fleet-fixtures';
import { call, rejection } from '../testing/grpc-clients';
import { sendReport, startRolloutFleet, type RolloutFleet } from '../testing/rollout-fleet';

// Pause points, DeploymentContinue and maintenance windows against a real hub
// over TLS; the hub's clock is injected so the test moves time.

const utc = (s: string) => Date.parse(`${s}Z`);
const clock = { fixedMs: undefined as number | undefined, now: () => clock.fixedMs ?? Date.now() };

let f: RolloutFleet;
let os: Artifact;

beforeAll(async () => {
  f = await startRolloutFleet({ clock, rolloutTickMs: 50 });
  os = (await uploadTestArtifact(f.t, f.operators, { name: 'os', version: '4.0', deviceTypes: ['board-a'], seed: 4 })).artifact;
}, 30_000);

afterAll(async () => {
  await f?.dispose();
});

const continueMsg = (deploymentId: string, stage: string): HubMessage['msg'] => ({ $case: 'deploymentContinue', deploymentContinue: { deploymentId, stage } });
const next = async (s: ControlStream) => (await nextCommand(s)).msg;
const cont = (id: string, more: { stage?: string; phase?: number; deviceIds?: string[] } = {}) =>
  call(f.operators, f.operators.continueDeployment, { id, stage: more.stage ?? '', phase: more.phase ?? 0, deviceIds: more.deviceIds ?? [] }, f.admin);

describe('pause points', () => {
  it('stops devices at each pause until the operator continues one device, the whole deployment, or a stage', async () => {
    const [a, b, c] = [await f.connected(), await f.connected(), await f.connected()];
    const dep = await f.create({ artifactId: os.id, deviceIds: [a.id, b.id, c.id] }, { pauseBefore: ['reboot', 'install'] });
    expect(dep.rollout?.options?.pauseBefore).toEqual(['install', 'reboot']);
    for (const d of [a, b, c]) {
      expect(await next(d.stream)).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id, pauseBeforeInstall: true, pauseBeforeReboot: true, pauseBeforeCommit: undefined } });
    }
    sendReport(a.stream, { deploymentId: dep.id, status: 'paused-before-install', seq: 2, bytesDone: 10, bytesTotal: 10 });
    sendReport(b.stream, { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    sendReport(c.stream, { deploymentId: dep.id, status: 'downloading', seq: 1 });
    expect(await quiet(a.stream, 300)).toBe(true);
    expect((await f.detail(dep.id)).deployment?.counts).toEqual({ 'paused-before-install': 2, downloading: 1 });

    // One device.
    await cont(dep.id, { deviceIds: [a.id] });
    expect(await next(a.stream)).toEqual(continueMsg(dep.id, 'install'));
    expect(await quiet(b.stream, 200)).toBe(true);
    sendReport(a.stream, { deploymentId: dep.id, status: 'installing', seq: 3 });
    sendReport(a.stream, { deploymentId: dep.id, status: 'paused-before-reboot', seq: 4 });
    // Its reboot was not released: it waits.
    expect(await quiet(a.stream, 300)).toBe(true);

    // The whole deployment: the next pause (install) for every started phase.
    await cont(dep.id);
    expect(await next(b.stream)).toEqual(continueMsg(dep.id, 'install'));
    expect(await quiet(a.stream, 200)).toBe(true);
    // A device reaching the released pause later goes on at once.
    sendReport(c.stream, { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    expect(await next(c.stream)).toEqual(continueMsg(dep.id, 'install'));

    // An explicit stage: reboot for everyone.
    expect((await rejection(cont(dep.id, { stage: 'dance' }))).code).toBe(status.INVALID_ARGUMENT);
    await cont(dep.id, { stage: 'reboot' });
    expect(await next(a.stream)).toEqual(continueMsg(dep.id, 'reboot'));
    // Devices still waiting before install are told again (they act on it
    // only while paused there), never about a later stage.
    expect(await next(b.stream)).toEqual(continueMsg(dep.id, 'install'));
    expect(await quiet(b.stream, 200)).toBe(true);
    // No pause point is left to release.
    expect((await rejection(cont(dep.id))).details).toMatch(/nothing to continue/);

    const continued = (await f.detail(dep.id)).history?.entries.filter((e) => e.action === 'continued');
    expect(continued?.map((e) => [e.actor, e.details.stage, e.details.releasedTo])).toEqual([
      ['admin', 'next', 'install'],
      ['admin', 'next', 'install'],
      ['admin', 'reboot', 'reboot'],
    ]);
  });

  it('releases nothing while halted, and everything due on resume', async () => {
    const a = await f.connected();
    const dep = await f.create({ artifactId: os.id, deviceIds: [a.id] }, { pauseBefore: ['commit'] });
    await next(a.stream);
    await cont(dep.id); // released before the device gets there
    await call(f.operators, f.operators.pauseDeployment, { id: dep.id, reason: 'checking dashboards' }, f.admin);
    sendReport(a.stream, { deploymentId: dep.id, status: 'paused-before-commit', seq: 5 });
    expect(await quiet(a.stream, 300)).toBe(true);
    expect((await f.detail(dep.id)).deployment).toMatchObject({ status: 'halted', haltReason: 'checking dashboards' });
    await call(f.operators, f.operators.resumeDeployment, { id: dep.id }, f.admin);
    expect(await next(a.stream)).toEqual(continueMsg(dep.id, 'commit'));
  });

  it('keeps releases across a hub restart: a reconnecting device gets its continue again, a held one still waits', async () => {
    const [a, b] = [await f.connected(), await f.connected()];
    const dep = await f.create({ artifactId: os.id, deviceIds: [a.id, b.id] }, { pauseBefore: ['install', 'reboot'] });
    await next(a.stream);
    await next(b.stream);
    sendReport(a.stream, { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    sendReport(b.stream, { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    await cont(dep.id, { deviceIds: [a.id] });
    expect(await next(a.stream)).toEqual(continueMsg(dep.id, 'install'));

    await f.restart({ clock, rolloutTickMs: 50 });
    const a2 = await online(f.devices, a);
    const b2 = await online(f.devices, b);
    f.streams.push(a2, b2);
    // After Hello: the command again; the agent answers with its current report (same seq).
    expect(await next(a2)).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id } });
    expect(await next(b2)).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id } });
    sendReport(a2, { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    sendReport(b2, { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    expect(await next(a2)).toEqual(continueMsg(dep.id, 'install'));
    expect(await quiet(b2, 300)).toBe(true);
    // The continue for install never releases the reboot.
    sendReport(a2, { deploymentId: dep.id, status: 'paused-before-reboot', seq: 3 });
    expect(await quiet(a2, 300)).toBe(true);
  });
});

describe('maintenance window (injected clock)', () => {
  it('holds install and reboot outside the window, releases them when it opens, and waits for the next one after it ends', async () => {
    clock.fixedMs = utc('2026-11-27T00:30'); // 01:30 in Oslo
    try {
      const [a, b] = [await f.connected(), await f.connected()];
      const dep = await f.create(
        { artifactId: os.id, deviceIds: [a.id, b.id] },
        { window: { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'Europe/Oslo' } },
      );
      expect(dep.rollout).toMatchObject({ windowOpen: false, windowEndsMs: 0, nextWindowMs: utc('2026-11-27T01:00') });
      expect(await next(a.stream)).toMatchObject({ $case: 'deployment', deployment: { pauseBeforeInstall: true, pauseBeforeReboot: true, pauseBeforeCommit: undefined } });
      await next(b.stream);
      // Downloads happen any time; installing waits.
      sendReport(a.stream, { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
      expect(await quiet(a.stream, 400)).toBe(true);

      clock.fixedMs = utc('2026-11-27T01:10');
      expect(await next(a.stream)).toEqual(continueMsg(dep.id, 'install'));
      expect((await f.detail(dep.id)).deployment?.rollout).toMatchObject({ windowOpen: true, windowEndsMs: utc('2026-11-27T02:00'), nextWindowMs: utc('2026-11-28T01:00') });
      sendReport(a.stream, { deploymentId: dep.id, status: 'paused-before-reboot', seq: 3 });
      expect(await next(a.stream)).toEqual(continueMsg(dep.id, 'reboot'));
      sendReport(a.stream, { deploymentId: dep.id, status: 'paused-before-commit', seq: 4 });
      // Commit is not held by a window (and is no pause point here).
      expect(await next(a.stream)).toEqual(continueMsg(dep.id, 'commit'));

      // Past the end: the device that missed it waits for the next one.
      clock.fixedMs = utc('2026-11-27T02:05');
      sendReport(b.stream, { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
      expect(await quiet(b.stream, 400)).toBe(true);
      expect((await f.detail(dep.id)).deployment?.rollout).toMatchObject({ windowOpen: false, nextWindowMs: utc('2026-11-28T01:00') });
      clock.fixedMs = utc('2026-11-28T01:00');
      expect(await next(b.stream)).toEqual(continueMsg(dep.id, 'install'));
    } finally {
      clock.fixedMs = undefined;
    }
  });

  it('takes the window of the target group when the deployment has none of its own', async () => {
    const a = await f.connected();
    const window = { cron: '30 3 * * 1-5', durationMs: 7_200_000, timeZone: 'Europe/Oslo' };
    await call(f.operators, f.operators.setGroupMembers, { name: 'night', add: [a.id], remove: [] }, f.admin);
    expect(await call(f.operators, f.operators.setGroupWindow, { group: 'night', dynamic: false, window }, f.admin)).toMatchObject({ group: 'night', dynamic: false, window, setBy: 'admin' });
    expect((await rejection(call(f.operators, f.operators.setGroupWindow, { group: 'night', dynamic: false, window: { ...window, cron: '0 0 0 * *' } }, f.admin))).details).toMatch(/maintenance window: .*day of month field "0"/);
    expect((await rejection(call(f.operators, f.operators.setGroupWindow, { group: 'ghost', dynamic: true, window }, f.admin))).code).toBe(status.NOT_FOUND);
    expect((await call(f.operators, f.operators.listGroups, {}, f.admin)).groups.find((g) => g.name === 'night')?.window).toEqual(window);
    expect((await call(f.operators, f.operators.listGroupWindows, {}, f.admin)).windows.map((w) => w.group)).toEqual(['night']);

    const dep = await f.create({ artifactId: os.id, group: 'night' });
    expect(dep.rollout?.options?.window).toEqual(window);
    expect(await next(a.stream)).toMatchObject({ $case: 'deployment', deployment: { pauseBeforeInstall: true, pauseBeforeReboot: true } });
    // Its own window wins; without a group window nothing is held.
    const own = await f.create({ artifactId: os.id, group: 'night', force: true }, { window: { ...window, cron: '0 1 * * *' } });
    expect(own.rollout?.options?.window?.cron).toBe('0 1 * * *');
    expect((await call(f.operators, f.operators.setGroupWindow, { group: 'night', dynamic: false, window: undefined }, f.admin)).window).toBeUndefined();
    const plain = await f.create({ artifactId: os.id, group: 'night', force: true });
    expect(plain.rollout?.options?.window).toBeUndefined();
    await call(f.operators, f.operators.abortDeployment, { id: dep.id }, f.admin);
  });

  it('refuses a bad window with a clear message', async () => {
    const a = await f.connected();
    const err = await rejection(f.create({ artifactId: os.id, deviceIds: [a.id] }, { window: { cron: '0 25 * * *', durationMs: 3_600_000, timeZone: 'Europe/Oslo' } }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/maintenance window: .*hour field "25"/);
    const tz = await rejection(f.create({ artifactId: os.id, deviceIds: [a.id] }, { window: { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'Nowhere/Land' } }));
    expect(tz.details).toMatch(/time zone "Nowhere\/Land" is not known/);
  });
});
