import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleServiceClient, Deployment, DeploymentDetail, DynamicGroup, Group, GroupWindow, PreviewDeviceQueryResponse } from '../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../proto/gen/fleet/v1/device';
import { bearer, call, consoleClient, deviceClient } from '../hub/testing/grpc-clients';
import { connectDevice, type FakeDevice } from './testing/fake-device';
import { runFleetctl, type FleetctlRun } from './testing/run-fleetctl';
import { freePort, repoRoot, startHubProgram, tempDir, waitFor, type HubProgram } from '../tests/support/processes';

// Rollout control end to end: the real bin/fleetctl.js against a real
// fleet-hub process, with devices that report what each test decides
// (docs/rollouts.md). Every test ends its deployments: a device takes its
// deployments oldest first.

const dirs = { hub: tempDir('fleetctl-roll-hub'), work: tempDir('fleetctl-roll-work') };
let hub: HubProgram;
let flags: string[];
let dc: DeviceServiceClient;
/** Waits poll the hub directly: a fleetctl process per poll costs a second. */
let cc: ConsoleServiceClient;
let artifactId: string;
const devices: FakeDevice[] = [];

function fleetctl(args: string[]): Promise<FleetctlRun> {
  return runFleetctl([...args, ...flags], join(dirs.work.path, 'config.json'));
}

async function json<T>(args: string[]): Promise<T> {
  const run = await fleetctl([...args, '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

function getDeployment(id: string): Promise<DeploymentDetail> {
  return call(cc, cc.getDeployment, { id }, bearer(hub.adminToken));
}

const ids = (n: number) => devices.slice(0, n).map((d) => d.id).join(',');

beforeAll(async () => {
  const w = dirs.work.path;
  const tool = (args: string[]) => execFileSync(process.execPath, [join(repoRoot, 'bin', 'fleet-artifact.js'), ...args], { cwd: repoRoot, stdio: 'pipe', timeout: 30_000 });
  tool(['keygen', '--out', join(w, 'release')]);
  writeFileSync(join(w, 'rootfs.img'), Buffer.alloc(10_000, 7));
  const file = join(w, 'os-2.0.0.fleet');
  tool(['write', 'rootfs-image', join(w, 'rootfs.img'), '--name', 'os', '--version', '2.0.0', '--device-type', 'pi4', '--key', join(w, 'release.key'), '-o', file]);
  mkdirSync(join(dirs.hub.path, 'trusted-keys'), { recursive: true });
  copyFileSync(join(w, 'release.pub'), join(dirs.hub.path, 'trusted-keys', 'release.pub'));
  hub = await startHubProgram(dirs.hub.path, await freePort());
  flags = ['--hub', hub.address, '--token', hub.adminToken, '--ca', join(dirs.hub.path, 'hub.crt')];
  dc = deviceClient(hub);
  cc = consoleClient(hub);
  for (let i = 0; i < 3; i++) devices.push(await connectDevice(hub, dc, 'pi4'));
  artifactId = (await json<{ id: string }>(['artifacts', 'upload', file])).id;
}, 90_000);

afterAll(async () => {
  for (const d of devices) d.stream.call.cancel();
  dc?.close();
  cc?.close();
  await hub?.stop();
  Object.values(dirs).forEach((d) => d.remove());
}, 30_000);

describe('fleetctl rollout control against a real hub', { timeout: 60_000 }, () => {
  it('creates a phased deployment: cumulative phases reach the hub as each phase’s share, with pauses, window, thresholds', async () => {
    // A daily window that opens ~11 h from now and lasts 2 h: closed now, whatever the hour the test runs at
    // (a fixed "0 2 * * *" was open between 01:00 and 03:00 UTC, and the device then got its command).
    const cron = `0 ${(new Date().getUTCHours() + 12) % 24} * * *`;
    const d = await json<Deployment>([
      'deployments', 'create', '--artifact', 'os', '--devices', ids(3),
      '--phase', '10%', '--phase', '50%', '--phase', '100%',
      '--phase-start', 'auto', '--phase-start', 'manual', '--phase-start', 'auto',
      '--phase-max-failures', '1', '--phase-max-failures', 'none', '--phase-max-failures', 'none',
      '--pause-before', 'reboot', '--pause-before', 'install',
      '--window', cron, '--window-length', '2h', '--tz', 'Europe/Oslo',
      '--max-failures', '5%', '--retries', '2',
    ]);
    const o = d.rollout!.options!;
    expect(o.phases.map((p) => [p.percent, p.count, p.manual])).toEqual([[10, 0, false], [40, 0, true], [100, 0, false]]);
    expect(o.phases[0].maxFailures).toMatchObject({ count: 1, percent: 0 });
    expect(o).toMatchObject({ pauseBefore: ['install', 'reboot'], window: { cron, durationMs: 7_200_000, timeZone: 'Europe/Oslo' }, maxFailures: { count: 0, percent: 5 }, retries: 2 });
    expect(d.rollout!.nextWindowMs).toBeGreaterThan(Date.now());

    const shown = await fleetctl(['deployments', 'show', d.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/\npause before\s+install, reboot\n/);
    expect(shown.stdout).toMatch(/\nwindow now\s+closed; next opens \S+Z \(in \d/);
    expect(shown.stdout).toContain('phase 2: 40%, starts by hand (fleetctl deployments continue ID --phase 2)\n');
    expect(shown.stdout).toMatch(/\n {2}phase 3 {2}the rest {2}waiting {2}\[░+\] 0\/\d done {2}downloaded 0 {2}paused 0 {2}installed 0 {2}committed 0 {2}failed 0\n/);
    expect(shown.stdout).toMatch(/History:\n {2}\S+Z \([^)]+\) {2}admin {2}created/);

    // Phase 2 waits for a hand: continue --phase 2 starts it.
    // 3 devices: 10% is at least 1, 40% of 3 rounds to 1, the rest is 1.
    expect(d.rollout!.phases.map((p) => p.total)).toEqual([1, 1, 1]);
    const started = await json<Deployment>(['deployments', 'continue', d.id, '--phase', '2']);
    expect(started.rollout!.phases[1].status).toBe('started');
    expect((await fleetctl(['deployments', 'abort', d.id])).code).toBe(0);
  });

  it('continues paused devices (one device, then the rest), pauses and resumes', async () => {
    const [a, b] = devices;
    const id = (await fleetctl(['deployments', 'create', '--artifact', 'os', '--devices', ids(2), '--pause-before', 'install'])).stdout.trim();
    for (const dev of [a, b]) {
      const cmd = await dev.next('deployment', id);
      expect(cmd.msg).toMatchObject({ deployment: { pauseBeforeInstall: true } });
      dev.report({ deploymentId: id, artifactId, status: 'paused-before-install' });
    }
    await waitFor('both devices paused', async () => (await getDeployment(id)).deployment!.counts['paused-before-install'] === 2, 10_000, 100);

    const paused = await fleetctl(['deployments', 'pause', id, '--reason', 'checking the canary']);
    expect(paused.stdout).toMatch(new RegExp(`^deployment ${id} halted \\(checking the canary\\): 2 paused-before-install\\n$`));
    const refused = await fleetctl(['deployments', 'continue', id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^fleetctl: deployments continue: .*resume it first/);
    const watched = await fleetctl(['deployments', 'show', id, '--watch']);
    expect(watched.code).toBe(1);
    expect(watched.stderr).toContain(`deployment ${id} halted: checking the canary: 2 paused-before-install; fleetctl deployments resume ${id}`);
    expect((await json<Deployment>(['deployments', 'resume', id])).status).toBe('active');

    const one = await json<Deployment>(['deployments', 'continue', id, '--devices', a.id, '--stage', 'install']);
    expect(one.status).toBe('active');
    expect((await a.next('deploymentContinue', id)).msg).toMatchObject({ deploymentContinue: { deploymentId: id, stage: 'install' } });
    await fleetctl(['deployments', 'continue', id]);
    expect((await b.next('deploymentContinue', id)).msg).toMatchObject({ deploymentContinue: { stage: 'install' } });

    const detail = await json<DeploymentDetail>(['deployments', 'show', id]);
    const actions = detail.history!.entries.filter((e) => e.actor === 'admin').map((e) => e.action);
    expect(actions).toEqual(['created', 'paused', 'resumed', 'continued', 'continued']);
    for (const dev of [a, b]) dev.report({ deploymentId: id, artifactId, status: 'success' });
    await waitFor('the deployment finished', async () => (await getDeployment(id)).deployment!.status === 'finished', 10_000, 100);
  });

  it('a failure over the threshold halts it; --watch exits 1 with the reason', async () => {
    const [a, b] = devices;
    const id = (await fleetctl(['deployments', 'create', '--artifact', 'os', '--devices', ids(2), '--max-failures', '10%', '--force'])).stdout.trim();
    await a.next('deployment', id);
    await b.next('deployment', id);
    a.report({ deploymentId: id, artifactId, status: 'rolled-back', reason: 'health check failed' });
    const watched = await fleetctl(['deployments', 'show', id, '--watch']);
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(new RegExp(`deployment ${id} halted \\(1 of 2 devices failed, more than the deployment's threshold of 10%\\)`));
    const text = await fleetctl(['deployments', 'show', id]);
    expect(text.stdout).toMatch(/\nstatus\s+halted\nhalt reason\s+1 of 2 devices failed/);
    expect((await fleetctl(['deployments', 'abort', id])).code).toBe(0);
    b.report({ deploymentId: id, artifactId, status: 'aborted' });
  });

  it('manages dynamic groups: a device joins by its inventory; windows; delete', async () => {
    const [a] = devices;
    const created = await fleetctl(['groups', 'create', 'lab-pis', '--where', 'device_type=pi4', '--where', 'site in lab,office', '--where', 'os.version>=1.2']);
    expect(created.stdout).toBe('dynamic group lab-pis: 0 matching devices now\n');
    a.inventory({ site: 'lab', 'os.version': '1.10' });
    await waitFor('the device to match', async () => (await call(cc, cc.getDynamicGroup, { name: 'lab-pis' }, bearer(hub.adminToken))).deviceIds.includes(a.id), 10_000, 100);
    const preview = await json<PreviewDeviceQueryResponse>(['groups', 'create', 'unsaved', '--where', 'site~^la', '--dry-run']);
    expect(preview).toEqual({ matching: 1, sample: [a.id] });

    const window = await json<GroupWindow>(['groups', 'window', 'lab-pis', '--window', '30 1 * * 1-5', '--window-length', '90m']);
    expect(window).toMatchObject({ group: 'lab-pis', dynamic: true, window: { cron: '30 1 * * 1-5', durationMs: 5_400_000, timeZone: '' } });
    const shown = await fleetctl(['groups', 'show', 'lab-pis']);
    expect(shown.stdout).toMatch(/^group {5}lab-pis\nkind {6}dynamic\nquery {5}device_type=pi4 and site in lab,office and os\.version>=1\.2\nmatching {2}1\nwindow {4}"30 1 \* \* 1-5" for 1h30m \(UTC\)\ncreated .* by admin\n/);
    expect(shown.stdout.endsWith(`\n${a.id}\n`)).toBe(true);
    const list = await json<{ groups: Group[]; dynamicGroups: DynamicGroup[] }>(['groups', 'list']);
    expect(list.dynamicGroups.find((g) => g.name === 'lab-pis')).toMatchObject({ matching: 1, window: { cron: '30 1 * * 1-5' } });
    expect((await fleetctl(['groups', 'list'])).stdout).toMatch(/\nlab-pis\s+dynamic\s+1\s+device_type=pi4 and /);

    // A deployment to the dynamic group takes the device that matches.
    const d = await json<Deployment>(['deployments', 'create', '--artifact', 'os', '--dynamic-group', 'lab-pis', '--max-devices', '1', '--force']);
    expect(d).toMatchObject({ total: 1, rollout: { options: { dynamicGroup: 'lab-pis', maxDevices: 1, window: { cron: '30 1 * * 1-5' } } } });
    await fleetctl(['deployments', 'abort', d.id]);

    expect((await fleetctl(['groups', 'delete', 'lab-pis'])).stdout).toBe('dynamic group lab-pis deleted\n');
    const gone = await fleetctl(['groups', 'show', 'lab-pis']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('fleetctl: groups show: no group "lab-pis" on this hub: see fleetctl groups list\n');
  });

  // The parsers' other errors are unit tests (rollout-flags.test.ts, where.test.ts): each run here costs a process.
  it('refuses bad lines with exit 2 and a clear message, before calling the hub', async () => {
    const cases: [string[], string][] = [
      [['groups', 'create', 'g', '--where', 'site'], '--where "site" is not a condition: write attr=value'],
      [['deployments', 'create', '--artifact', 'os', '--devices', 'x', '--phase', '10%', '--phase', '50%'], 'the last --phase must be 100%'],
      [['deployments', 'continue', 'x', '--stage', 'download'], '--stage must be install, reboot or commit'],
    ];
    for (const [line, message] of cases) {
      const run = await fleetctl(line);
      expect(run.code, line.join(' ')).toBe(2);
      expect(run.stderr).toContain(message);
    }
  });
});
