import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateFingerprint, pemToDer } from '../proto/tls-fingerprint';
import { runFleetctl, type FleetctlRun } from './testing/run-fleetctl';
import { freePort, repoRoot, startHubProgram, startProgram, tempDir, waitFor, type HubProgram, type Program } from '../tests/support/processes';

// End to end: the real bin/fleetctl.js as a child process against a real
// fleet-hub process and real simulated devices (fleet-agent sim), all on
// loopback in temporary folders.

const dirs = { hub: tempDir('fleetctl-hub'), sims: tempDir('fleetctl-sims'), home: tempDir('fleetctl-home') };
const configFile = join(dirs.home.path, 'fleetctl', 'config.json');
let hub: HubProgram;
let flags: string[];
const sims: Program[] = [];

function fleetctl(args: string[], env: Record<string, string> = {}): Promise<FleetctlRun> {
  return runFleetctl(args, configFile, env);
}

async function json<T>(args: string[]): Promise<T> {
  const run = await fleetctl([...args, '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

interface DeviceJson {
  id: string;
  status: string;
  identity: Record<string, string>;
  inventory: Record<string, string>;
  online: boolean;
  publicKey: string;
}

beforeAll(async () => {
  hub = await startHubProgram(dirs.hub.path, await freePort());
  const ca = join(dirs.hub.path, 'hub.crt');
  flags = ['--hub', hub.address, '--token', hub.adminToken, '--ca', ca];
  // Two kinds of device, so --filter has something to tell apart.
  sims.push(startProgram('fleet-agent', ['sim', '--hub', hub.address, '--ca', ca, '--devices', '3', '--device-type', 'gateway', '--state', join(dirs.sims.path, 'a')]));
  sims.push(startProgram('fleet-agent', ['sim', '--hub', hub.address, '--ca', ca, '--devices', '2', '--device-type', 'sensor', '--start-index', '3', '--state', join(dirs.sims.path, 'b')]));
  await waitFor('5 pending devices', async () => (await json<DeviceJson[]>(['devices', 'list', '--status', 'pending', ...flags])).length === 5, 60_000, 500);
}, 120_000);

afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await hub?.stop();
  Object.values(dirs).forEach((d) => d.remove());
}, 30_000);

describe('fleetctl against a real hub', { timeout: 60_000 }, () => {
  it('refuses a wrong token with exit 3 and says what to do', async () => {
    const run = await fleetctl(['devices', 'list', '--hub', hub.address, '--token', 'not-the-token', '--ca', join(dirs.hub.path, 'hub.crt')]);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^fleetctl: devices list: not authenticated: .*check --token or FLEET_TOKEN, or run fleetctl login again\n$/);
  });

  it('fails fast with exit 3 when no hub listens', async () => {
    const port = await freePort();
    const run = await fleetctl(['whoami', '--hub', `127.0.0.1:${port}`, '--token', 't', '--ca', join(dirs.hub.path, 'hub.crt')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`fleetctl: whoami: cannot reach hub 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}: is fleet-hub running there? check --hub\n`);
    expect(run.ms).toBeLessThan(10_000);
  });

  it('tells a bad --ca file (exit 2) from a certificate that is not the hub (exit 3)', async () => {
    const junk = join(dirs.home.path, 'junk.crt');
    writeFileSync(junk, 'not a certificate\n');
    const bad = await fleetctl(['whoami', '--hub', hub.address, '--token', hub.adminToken, '--ca', junk]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`fleetctl: whoami: ${junk} is not a PEM certificate: pass the hub's DATA/hub.crt\n`);

    const other = join(dirs.home.path, 'other.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', join(dirs.home.path, 'other.key'), '-out', other, '-subj', '/CN=fleet-hub', '-days', '1'], { stdio: 'ignore' });
    const wrong = await fleetctl(['whoami', '--hub', hub.address, '--token', hub.adminToken, '--ca', other]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/^fleetctl: whoami: hub certificate fingerprint [0-9A-F:]{95} does not match [0-9A-F:]{95} trusted from --ca .*other\.crt: .*check --ca or run fleetctl login again\n$/);
  });

  it('login checks the hub, saves a 0600 context, and later commands need no flags', async () => {
    const fingerprint = certificateFingerprint(pemToDer(hub.certPem));
    const run = await fleetctl(['login', ...flags]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^operator +\S+\nrole +admin\n/);
    expect(run.stdout).toContain(`fingerprint  ${fingerprint}\n`);
    expect(run.stdout).toContain(`context      ${hub.address}\n`);
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(configFile, 'utf8'));
    expect(saved['current-context']).toBe(hub.address);
    expect(saved.contexts[hub.address]).toEqual({ hub: hub.address, token: hub.adminToken, caPem: expect.stringContaining('BEGIN CERTIFICATE'), fingerprint });

    const me = await json<{ role: string; hubId: string; fingerprint: string; context: string }>(['whoami']);
    expect(me).toMatchObject({ role: 'admin', fingerprint, context: hub.address });
    expect(me.hubId).not.toBe('');
  });

  it('login --trust-on-first-use prints the fingerprint it trusts; contexts lists and switches', async () => {
    const fingerprint = certificateFingerprint(pemToDer(hub.certPem));
    const run = await fleetctl(['login', '--hub', hub.address, '--token', hub.adminToken, '--trust-on-first-use', '--context', 'tofu']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`trusting the hub certificate on first use: fingerprint ${fingerprint}\n`);
    const list = await json<{ name: string; current: boolean }[]>(['contexts']);
    expect(list).toEqual([
      expect.objectContaining({ name: hub.address, current: false }),
      expect.objectContaining({ name: 'tofu', current: true }),
    ]);
    expect((await fleetctl(['contexts', 'use', hub.address])).code).toBe(0);
    expect((await fleetctl(['logout', '--context', 'tofu'])).code).toBe(0);
    expect((await json<{ name: string }[]>(['contexts'])).map((c) => c.name)).toEqual([hub.address]);
  });

  it('lists devices as an aligned table, as JSON and by status', async () => {
    const table = await fleetctl(['devices', 'list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +STATUS +ONLINE +TYPE +OS +LAST SEEN$/);
    expect(lines).toHaveLength(6);
    const statusAt = lines[0].indexOf('STATUS');
    // Pending devices have not reported inventory yet (that needs an accepted connection): no OS.
    for (const line of lines.slice(1)) expect(line.slice(statusAt)).toMatch(/^pending +no +(gateway|sensor) +(never|just now|\d+s ago)$/);

    const devices = await json<DeviceJson[]>(['devices', 'list']);
    expect(devices).toHaveLength(5);
    for (const d of devices) {
      expect(d.status).toBe('pending');
      expect(d.publicKey).toMatch(/^[0-9a-f]{64}$/);
      expect(d.identity.serial).toMatch(/^SIM-/);
    }
    expect(await json<DeviceJson[]>(['devices', 'list', '--status', 'accepted'])).toEqual([]);
    expect(await json<DeviceJson[]>(['devices', 'list', '--limit', '2'])).toHaveLength(2);
    expect((await json<DeviceJson[]>(['devices', 'list', '--filter', 'device_type=sensor'])).map((d) => d.identity.device_type)).toEqual(['sensor', 'sensor']);
  });

  it('accepts a device by id, which then comes online', async () => {
    const sensor = (await json<DeviceJson[]>(['devices', 'list', '--filter', 'device_type=sensor']))[0];
    const run = await fleetctl(['devices', 'accept', sensor.id]);
    expect(run).toMatchObject({ code: 0, stdout: `accepted ${sensor.id}\n`, stderr: '' });
    const again = await fleetctl(['devices', 'accept', sensor.id]);
    expect(again.stdout).toBe(`${sensor.id} was already accepted\n`);
    await waitFor(`${sensor.id} online with inventory`, async () => {
      const d = await json<DeviceJson>(['devices', 'show', sensor.id]);
      return d.online && d.inventory['os.id'] === 'fleetos';
    }, 40_000, 500);
    const shown = await fleetctl(['devices', 'show', sensor.id]);
    expect(shown.stdout).toMatch(new RegExp(`^id +${sensor.id}\nstatus +accepted\nonline +yes\n`));
    // Line by line (a regex over the whole section backtracks exponentially when it fails).
    const lines = shown.stdout.split('\n');
    const section = lines.slice(lines.indexOf('inventory') + 1);
    const inventory = section.slice(0, section.findIndex((l) => !l.startsWith('  ')));
    expect(lines).toContain('inventory');
    expect(inventory).toContainEqual(expect.stringMatching(/^ {2}os\.id +fleetos$/));
    const row = (await fleetctl(['devices', 'list', '--status', 'accepted'])).stdout.split('\n')[1];
    expect(row).toMatch(new RegExp(`^${sensor.id} +accepted +yes +sensor +FleetOS 1\\.0 \\(simulated\\) +(just now|\\d+s ago)$`));
  });

  it('accepts all pending devices matching a filter, with a dry run first', async () => {
    const gateways = (await json<DeviceJson[]>(['devices', 'list', '--filter', 'device_type=gateway'])).map((d) => d.id).sort();
    expect(gateways).toHaveLength(3);
    const dry = await fleetctl(['devices', 'accept', '--all-pending', '--filter', 'device_type=gateway', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(`would accept 3 pending devices:\n${gateways.map((id) => `  ${id}\n`).join('')}`);
    expect(await json<DeviceJson[]>(['devices', 'list', '--status', 'accepted'])).toHaveLength(1);

    const run = await fleetctl(['devices', 'accept', '--all-pending', '--filter', 'device_type=gateway']);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('accepted 3 pending devices:');
    expect(run.stdout.split('\n').slice(1, -1).map((l) => l.trim()).sort()).toEqual(gateways);
    const pending = await json<DeviceJson[]>(['devices', 'list', '--status', 'pending']);
    expect(pending.map((d) => d.identity.device_type)).toEqual(['sensor']);
  });

  it('applies the known ids and exits 1 naming the unknown ones', async () => {
    const [last] = await json<DeviceJson[]>(['devices', 'list', '--status', 'pending']);
    const run = await fleetctl(['devices', 'reject', last.id, 'no-such-device']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`rejected ${last.id}\n`);
    expect(run.stderr).toBe('fleetctl: devices reject: unknown device id no-such-device: see fleetctl devices list\n');
    expect((await json<DeviceJson>(['devices', 'show', last.id])).status).toBe('rejected');
  });

  it('preauthorizes a device by its hex key: it enrolls straight to accepted and comes online', async () => {
    // The factory flow: read a (simulated) device's key before it ever talks to the hub.
    const state = join(dirs.sims.path, 'factory');
    const shown = await promisify(execFile)(
      process.execPath,
      [join(repoRoot, 'bin', 'fleet-agent.js'), 'identity', '--state', join(state, 'dev-00001'), '--sim', '--device-type', 'factory', '--json'],
      { timeout: 30_000 },
    );
    const { publicKeyHex, identity } = JSON.parse(shown.stdout) as { publicKeyHex: string; identity: Record<string, string> };
    const pairs = Object.entries(identity).map(([k, v]) => `${k}=${v}`);
    const run = await fleetctl(['devices', 'preauthorize', '--key', publicKeyHex, '--identity', ...pairs]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: `preauthorized device ${run.stdout.trim()} (accepted)\n` });
    const id = run.stdout.trim();
    expect(await json<DeviceJson>(['devices', 'show', id])).toMatchObject({ id, status: 'accepted', online: false, publicKey: publicKeyHex, identity });

    sims.push(startProgram('fleet-agent', ['sim', '--hub', hub.address, '--ca', join(dirs.hub.path, 'hub.crt'), '--devices', '1', '--device-type', 'factory', '--state', state]));
    await waitFor(`preauthorized ${id} online`, async () => (await json<DeviceJson>(['devices', 'show', id])).online, 40_000, 500);
    expect(await json<DeviceJson[]>(['devices', 'list', '--filter', 'device_type=factory'])).toMatchObject([{ id, status: 'accepted', online: true }]);

    const noType = await fleetctl(['devices', 'preauthorize', '--key', publicKeyHex, '--identity', 'serial=X']);
    expect(noType.code).toBe(2);
    expect(noType.stderr).toBe('fleetctl: devices preauthorize: needs --identity device_type=TYPE (and any other identity attributes)\n');
  });

  // Last: `fleet-hub operators add` writes to the database beside the running
  // hub, and (hub bug, reported) the hub's next mutation then fails.
  it('refuses a viewer changing admission with exit 3 and a role hint', async () => {
    const add = await promisify(execFile)(process.execPath, [join(repoRoot, 'bin', 'fleet-hub.js'), 'operators', 'add', 'watcher', '--role', 'viewer', '--data', dirs.hub.path], { timeout: 30_000 });
    const viewer = add.stdout.trim();
    const [device] = await json<DeviceJson[]>(['devices', 'list', '--limit', '1']);
    expect((await fleetctl(['devices', 'list', '--token', viewer])).code).toBe(0);
    const run = await fleetctl(['devices', 'reject', device.id, '--token', viewer]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^fleetctl: devices reject: permission denied: .*your operator role does not allow this; ask a hub admin\n$/);
  });
});
