import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, DeploymentDetail, DeploymentDevice, Group } from '../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../proto/gen/fleet/v1/device';
import { deviceClient } from '../hub/testing/grpc-clients';
import { connectDevice, type FakeDevice } from './testing/fake-device';
import { runFleetctl, startFleetctl, type FleetctlRun } from './testing/run-fleetctl';
import { freePort, repoRoot, startHubProgram, tempDir, waitFor, type HubProgram } from '../tests/support/processes';

// End to end: the real bin/fleetctl.js against a real fleet-hub process. The
// devices are real gRPC device clients (enrolled, on the control stream) that
// answer DeploymentCommands with UpdateReports the way an agent does, so each
// test decides exactly what every device reports.

const dirs = { hub: tempDir('fleetctl-dep-hub'), work: tempDir('fleetctl-dep-work') };
let hub: HubProgram;
let flags: string[];
let dc: DeviceServiceClient;
let artifactId: string;
let group: string;
const devices: Record<'ok' | 'bad' | 'other', FakeDevice> = {} as never;

function fleetctl(args: string[]): Promise<FleetctlRun> {
  return runFleetctl([...args, ...flags], join(dirs.work.path, 'config.json'));
}

async function json<T>(args: string[]): Promise<T> {
  const run = await fleetctl([...args, '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

function fleetArtifact(args: string[]): void {
  execFileSync(process.execPath, [join(repoRoot, 'bin', 'fleet-artifact.js'), ...args], { cwd: repoRoot, stdio: 'pipe', timeout: 30_000 });
}

function connect(deviceType: string): Promise<FakeDevice> {
  return connectDevice(hub, dc, deviceType);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const w = dirs.work.path;
  fleetArtifact(['keygen', '--out', join(w, 'release')]);
  writeFileSync(join(w, 'rootfs.img'), Buffer.alloc(300_000, 3));
  const file = join(w, 'os-1.0.0.fleet');
  fleetArtifact(['write', 'rootfs-image', join(w, 'rootfs.img'), '--name', 'os', '--version', '1.0.0', '--device-type', 'pi4', '--key', join(w, 'release.key'), '-o', file]);
  mkdirSync(join(dirs.hub.path, 'trusted-keys'), { recursive: true });
  copyFileSync(join(w, 'release.pub'), join(dirs.hub.path, 'trusted-keys', 'release.pub'));
  hub = await startHubProgram(dirs.hub.path, await freePort());
  flags = ['--hub', hub.address, '--token', hub.adminToken, '--ca', join(dirs.hub.path, 'hub.crt')];
  dc = deviceClient(hub);
  devices.ok = await connect('pi4');
  devices.bad = await connect('pi4');
  devices.other = await connect('sensor');
  const upload = await json<{ id: string; group: string }>(['artifacts', 'upload', file]);
  artifactId = upload.id;
  group = upload.group;
}, 90_000);

afterAll(async () => {
  for (const d of Object.values(devices)) d?.stream.call.cancel();
  dc?.close();
  await hub?.stop();
  Object.values(dirs).forEach((d) => d.remove());
}, 30_000);

describe('fleetctl deployments and groups against a real hub', { timeout: 90_000 }, () => {
  it('manages a static group', async () => {
    const added = await fleetctl(['groups', 'add', 'lab', devices.ok.id, devices.bad.id, devices.other.id]);
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe('group lab: 3 devices\n');
    await json<Group>(['groups', 'add', 'scratch', devices.ok.id]);
    const removed = await json<Group>(['groups', 'remove', 'scratch', devices.ok.id]);
    expect(removed).toMatchObject({ name: 'scratch', deviceIds: [] });
    const { groups } = await json<{ groups: Group[] }>(['groups', 'list']);
    expect(groups.find((g) => g.name === 'lab')?.deviceIds.slice().sort()).toEqual([devices.ok.id, devices.bad.id, devices.other.id].sort());
    const table = await fleetctl(['groups', 'list']);
    expect(table.stdout).toMatch(/^GROUP\s+KIND\s+DEVICES\s+MEMBERS\/QUERY\s+WINDOW\nlab\s+static\s+3\s+/);
  });

  it('deploys to a group and watches it end: success, rolled-back with its reason, incompatible -> exit 1', async () => {
    const created = await fleetctl(['deployments', 'create', '--artifact', 'os', '--group', 'lab', '--name', 'lab rollout']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^\S+\n$/);
    expect(created.stderr).toMatch(/^created deployment "lab rollout" of os 1\.0\.0 to 3 devices: /);
    const id = created.stdout.trim();

    // Each report is sent once the watch printed the previous one, so no step can be missed.
    const watch = startFleetctl(['deployments', 'show', id, '--watch', ...flags], join(dirs.work.path, 'config.json'));
    const printed = (text: string) => waitFor(`fleetctl to print "${text}"`, () => watch.stdout().includes(text), 20_000);
    await printed(`${devices.other.id}  incompatible`);
    for (const device of [devices.ok, devices.bad]) {
      const cmd = await device.next('deployment', id);
      expect(cmd.msg).toMatchObject({ deployment: { deploymentId: id, artifactId, artifactName: 'os', artifactVersion: '1.0.0' } });
    }
    devices.ok.report({ deploymentId: id, artifactId, status: 'downloading', bytesDone: 1000, bytesTotal: 4000, logLines: ['2026-11-27T08:00:00Z download started'] });
    devices.bad.report({ deploymentId: id, artifactId, status: 'downloading', bytesTotal: 4000 });
    await printed(`${devices.ok.id}  downloading`);
    devices.ok.report({ deploymentId: id, artifactId, status: 'installing', logLines: ['2026-11-27T08:00:01Z writing slot b'] });
    devices.bad.report({ deploymentId: id, artifactId, status: 'verifying' });
    await printed(`${devices.ok.id}  installing`);
    devices.ok.report({ deploymentId: id, artifactId, status: 'success', logLines: ['2026-11-27T08:00:02Z committed slot b'] });
    devices.bad.report({ deploymentId: id, artifactId, status: 'rolled-back', reason: 'health check failed: app.service inactive' });

    const run = await watch.done;
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\S+ {2}/, ''));
    expect(lines.find((l) => l.startsWith(`${devices.other.id}  incompatible: `))).toMatch(/device type "sensor"/);
    expect(lines).toContain(`${devices.ok.id}  downloading`);
    expect(lines).toContain(`${devices.ok.id}  installing`);
    expect(lines).toContain(`${devices.ok.id}  success`);
    expect(lines).toContain(`${devices.bad.id}  rolled-back: health check failed: app.service inactive`);
    expect(lines.at(-1)).toBe(`deployment ${id} finished: 1 success, 1 rolled-back, 1 incompatible`);
    expect(run.stderr).toBe(`fleetctl: deployments show: deployment ${id} ended finished: 1 success, 1 rolled-back, 1 incompatible\n`);

    const detail = await json<DeploymentDetail>(['deployments', 'show', id]);
    expect(detail.deployment).toMatchObject({ id, name: 'lab rollout', status: 'finished', total: 3, counts: { success: 1, 'rolled-back': 1, incompatible: 1 } });
    expect(detail.devices.find((d) => d.deviceId === devices.bad.id)).toMatchObject({ status: 'rolled-back', reason: 'health check failed: app.service inactive' });
    const text = await fleetctl(['deployments', 'show', id]);
    expect(text.stdout).toMatch(new RegExp(`\\n${devices.bad.id}\\s+rolled-back\\s+.*health check failed`));

    const log = await fleetctl(['deployments', 'log', id, devices.ok.id]);
    expect(log.stdout).toBe('2026-11-27T08:00:00Z download started\n2026-11-27T08:00:01Z writing slot b\n2026-11-27T08:00:02Z committed slot b\n');

    const history = await json<DeploymentDevice[]>(['devices', 'history', devices.bad.id]);
    expect(history[0]).toMatchObject({ deploymentId: id, status: 'rolled-back', artifactName: 'os', artifactVersion: '1.0.0', deploymentName: 'lab rollout' });
    const finished = await json<Deployment[]>(['deployments', 'list', '--status', 'finished']);
    expect(finished.map((d) => d.id)).toContain(id);
    const active = await json<Deployment[]>(['deployments', 'list', '--status', 'active']);
    expect(active.map((d) => d.id)).not.toContain(id);
  });

  it('exits 0 when every device ends in success or already-installed', async () => {
    // The hub decides already-installed from the inventory, without asking the device.
    devices.ok.stream.send({ msg: { $case: 'inventory', inventory: { full: false, attributes: { [`artifact.${group}.name`]: 'os', [`artifact.${group}.version`]: '1.0.0' } } } });
    await waitFor('the inventory on the hub', async () => (await json<{ inventory: Record<string, string> }>(['devices', 'show', devices.ok.id])).inventory[`artifact.${group}.version`] === '1.0.0', 10_000);
    const id = (await json<Deployment>(['deployments', 'create', '--artifact', artifactId, '--devices', devices.ok.id])).id;
    const done = await fleetctl(['deployments', 'show', id, '--watch', '--json']);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ deployment: { id, status: 'finished', counts: { 'already-installed': 1 } } });

    const forced = await json<Deployment>(['deployments', 'create', '--artifact', 'os', '--devices', devices.ok.id, '--force']);
    expect(forced).toMatchObject({ force: true, total: 1 });
    const watch = fleetctl(['deployments', 'show', forced.id, '--watch']);
    await devices.ok.next('deployment', forced.id);
    devices.ok.report({ deploymentId: forced.id, artifactId, status: 'success' });
    const run = await watch;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('aborts: the device in progress is told, and reports aborted', async () => {
    const id = (await fleetctl(['deployments', 'create', '--artifact', 'os', '--devices', `${devices.bad.id}`, '--force'])).stdout.trim();
    await devices.bad.next('deployment', id);
    devices.bad.report({ deploymentId: id, artifactId, status: 'downloading', bytesTotal: 4000 });
    await waitForStatus(id, devices.bad.id, 'downloading');
    const abort = await fleetctl(['deployments', 'abort', id]);
    expect(abort.code).toBe(0);
    expect(abort.stdout).toMatch(new RegExp(`^deployment ${id} aborted: `));
    const told = await devices.bad.next('abort', id);
    expect(told.msg).toMatchObject({ abort: { deploymentId: id } });
    devices.bad.report({ deploymentId: id, artifactId, status: 'aborted', reason: 'aborted by the operator' });
    const detail = await waitForStatus(id, devices.bad.id, 'aborted');
    expect(detail.deployment).toMatchObject({ status: 'aborted', abortedBy: 'admin' });
  });

  it('refuses bad lines with exit 2 and unknown things with exit 1', async () => {
    const noTargets = await fleetctl(['deployments', 'create', '--artifact', 'os']);
    expect(noTargets.code).toBe(2);
    expect(noTargets.stderr).toBe('fleetctl: deployments create: needs the targets: --devices ID,..., --group NAME or --dynamic-group NAME\n');
    const both = await fleetctl(['deployments', 'create', '--artifact', 'os', '--group', 'lab', '--devices', devices.ok.id]);
    expect(both.code).toBe(2);
    const badStatus = await fleetctl(['deployments', 'list', '--status', 'done']);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain('--status must be active, halted, finished, aborted, got "done"');
    const noSub = await fleetctl(['deployments']);
    expect(noSub.stderr).toBe('fleetctl: deployments needs a subcommand: create, list, show, continue, pause, resume, abort or log\n');

    const unknownArtifact = await fleetctl(['deployments', 'create', '--artifact', 'no-such-artifact', '--devices', devices.ok.id]);
    expect(unknownArtifact.code).toBe(1);
    expect(unknownArtifact.stderr).toMatch(/^fleetctl: deployments create: .*no-such-artifact/);
    const unknownDeployment = await fleetctl(['deployments', 'show', 'no-such-deployment']);
    expect(unknownDeployment.code).toBe(1);
    expect(unknownDeployment.stderr).toMatch(/^fleetctl: deployments show: .*no-such-deployment/);
    const unknownDevice = await fleetctl(['groups', 'add', 'lab', 'no-such-device']);
    expect(unknownDevice.code).toBe(1);
    expect(unknownDevice.stderr).toMatch(/^fleetctl: groups add: .*no-such-device/);
  });
});

async function waitForStatus(id: string, deviceId: string, status: string): Promise<DeploymentDetail> {
  const until = Date.now() + 10_000;
  for (;;) {
    const detail = await json<DeploymentDetail>(['deployments', 'show', id]);
    if (detail.devices.find((d) => d.deviceId === deviceId)?.status === status) return detail;
    if (Date.now() > until) throw new Error(`device ${deviceId} never reached ${status} in deployment ${id}: ${JSON.stringify(detail)}`);
    await pause(300);
  }
}
