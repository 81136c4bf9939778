import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceAgent, type AgentState } from '../../agent/agent';
import { readInventory } from '../../agent/inventory';
import { startSimulator, type RunningSimulator } from '../../agent/sim/simulator';
import { AdmissionStatus, type Device } from '../../proto/gen/fleet/v1/common';
import { startHub, type RunningHub } from '../../hub/hub';
import { Operator } from '../support/operator';
import { repoRoot, tempDir, waitFor } from '../support/processes';
import { unary } from '../../src-main/services/hub-client/hub-connection';

// The agent against the real hub (in this process, real TLS gRPC and SQLite):
// admission by an operator, inventory, token expiry and a hub restart.

const FAST_BACKOFF = { baseMs: 100, maxMs: 1_000 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

async function hubIn(dir: string, opts: { listen?: string; tokenTtlMs?: number } = {}): Promise<{ hub: RunningHub; operator: Operator }> {
  const hub = await startHub({ dataDir: dir, listen: opts.listen ?? '127.0.0.1:0', tokenTtlMs: opts.tokenTtlMs, enrollRetryMs: 200, heartbeatIntervalMs: 500 });
  const operator = new Operator(hub.address, hub.adminToken, hub.certPem);
  return { hub, operator };
}

function scratch(prefix: string): string {
  const dir = tempDir(prefix);
  cleanups.push(() => dir.remove());
  return dir.path;
}

async function device(operator: Operator, id: string): Promise<Device> {
  return unary(operator.client, operator.client.getDevice, { id }, operator.token);
}

describe('agent with the real hub', () => {
  it('enrolls as pending, is accepted by an operator, comes online with its real inventory', async () => {
    const { hub, operator } = await hubIn(scratch('hub'));
    cleanups.push(() => hub.close(), () => operator.close());
    const agent = new DeviceAgent({
      hub: hub.address,
      caPem: hub.certPem,
      stateDir: scratch('agent'),
      identity: () => ({ device_type: 'test-board', serial: 'SYS-1' }),
      inventory: () => readInventory(),
      backoff: FAST_BACKOFF,
    });
    cleanups.push(() => agent.stop());
    agent.start();

    await waitFor('pending', () => agent.state === 'pending', 10_000);
    const pending = await device(operator, agent.deviceId);
    expect(pending.status).toBe(AdmissionStatus.ADMISSION_STATUS_PENDING);
    expect(pending.identity).toMatchObject({ device_type: 'test-board', serial: 'SYS-1' });
    expect(Buffer.from(pending.publicKey).equals(agent.publicKey!)).toBe(true);

    const accepted = await unary(operator.client, operator.client.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [agent.deviceId], filter: undefined }, operator.token);
    expect(accepted.changed).toEqual([agent.deviceId]);
    await waitFor('online', () => agent.state === 'online', 10_000);
    const online = await waitFor('inventory on the hub', async () => {
      const d = await device(operator, agent.deviceId);
      return d.online && d.inventory.hostname ? d : undefined;
    }, 10_000);
    expect(online.inventory.hostname).toBe(hostname());
    expect(online.inventory['kernel.release']).toBe(readInventory()['kernel.release']);
  });

  it('runs simulated devices, and a preauthorized key (from fleet-agent identity) is accepted at once', async () => {
    const { hub, operator } = await hubIn(scratch('hub'));
    cleanups.push(() => hub.close(), () => operator.close());
    const simDir = scratch('sim');

    // Factory flow: make the key first, preauthorize it, then start the device.
    const { stdout } = await promisify(execFile)('node', [join(repoRoot, 'bin/fleet-agent.js'), 'identity', '--state', join(simDir, 'dev-00001'), '--sim', '--device-type', 'sim-gw', '--json']);
    const printed = JSON.parse(stdout) as { publicKeyHex: string; identity: Record<string, string> };
    await unary(operator.client, operator.client.preauthorizeDevice, { publicKey: Buffer.from(printed.publicKeyHex, 'hex'), identity: printed.identity }, operator.token);

    const sim: RunningSimulator = await startSimulator({ hub: hub.address, caPem: hub.certPem, devices: 3, stateDir: simDir, deviceType: 'sim-gw', connectSpreadMs: 200, backoff: FAST_BACKOFF });
    cleanups.push(() => sim.close());
    await waitFor('device 1 online, the others pending', () => sim.agents[0].state === 'online' && sim.counts().pending === 2, 15_000);
    expect(sim.agents[0].publicKey!.toString('hex')).toBe(printed.publicKeyHex);

    await operator.acceptAllPending();
    await waitFor('all online', () => sim.counts().online === 3, 15_000);
    const devices = await waitFor('inventories', async () => {
      const all = await operator.allDevices();
      return all.length === 3 && all.every((d) => d.online && d.inventory.simulated === 'true') ? all : undefined;
    }, 10_000);
    expect(devices.map((d) => d.inventory.hostname).sort()).toEqual(['sim-00001', 'sim-00002', 'sim-00003']);
    expect(devices.every((d) => d.identity.device_type === 'sim-gw' && d.inventory['os.pretty_name'] === 'FleetOS 1.0 (simulated)')).toBe(true);
  });

  it('stays online across token lifetimes and re-enrolls when its expired token is refused', async () => {
    const dataDir = scratch('hub');
    const { hub, operator } = await hubIn(dataDir, { tokenTtlMs: 1_500 });
    cleanups.push(() => hub.close(), () => operator.close());
    const sim = await startSimulator({ hub: hub.address, caPem: hub.certPem, devices: 2, stateDir: scratch('sim'), connectSpreadMs: 0, backoff: FAST_BACKOFF });
    cleanups.push(() => sim.close());
    await waitFor('pending', () => sim.counts().pending === 2, 10_000);
    await operator.acceptAllPending();
    await waitFor('online', () => sim.counts().online === 2, 10_000);

    const states: AgentState[] = [];
    sim.agents[0].on('state', (s: AgentState) => states.push(s));
    const offlineSeen = new Set<string>();
    // Several token lifetimes. Whether the hub ends streams at expiry or not,
    // the devices refresh or re-enroll on their own: never pending, never
    // backing off, online on the hub throughout (presence sampled).
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      for (const d of await operator.allDevices()) if (!d.online) offlineSeen.add(d.id);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(states.filter((s) => s === 'pending' || s === 'rejected' || s === 'backoff')).toEqual([]);
    expect(sim.counts().online).toBe(2);
    // A reconnect (if the hub closed an expired stream) may blink a device
    // offline for a moment; it must never stay so.
    await waitFor('online on the hub', async () => (await operator.allDevices()).every((d) => d.online), 5_000);
    expect(offlineSeen.size).toBeLessThanOrEqual(2);

    // The hub goes away for longer than a token lives: the devices come back
    // holding expired tokens, are refused, and enroll again on their own.
    operator.close();
    await hub.close();
    await new Promise((r) => setTimeout(r, 2_000));
    states.length = 0;
    const again = await hubIn(dataDir, { listen: hub.address, tokenTtlMs: 1_500 });
    cleanups.push(() => again.hub.close(), () => again.operator.close());
    await waitFor('online with fresh tokens', () => sim.counts().online === 2, 20_000);
    expect(states).toContain('enrolling');
    expect(states).not.toContain('pending');
  });

  it('rides through a hub restart on the same folder and port', async () => {
    const dataDir = scratch('hub');
    const first = await hubIn(dataDir);
    const sim = await startSimulator({ hub: first.hub.address, caPem: first.hub.certPem, devices: 5, stateDir: scratch('sim'), connectSpreadMs: 100, backoff: FAST_BACKOFF });
    cleanups.push(() => sim.close());
    await waitFor('pending', () => sim.counts().pending === 5, 10_000);
    await first.operator.acceptAllPending();
    await waitFor('online', () => sim.counts().online === 5, 10_000);
    const ids = sim.agents.map((a) => a.deviceId).sort();

    first.operator.close();
    await first.hub.close();
    await waitFor('all devices notice', () => sim.counts().online === 0, 10_000);
    const second = await hubIn(dataDir, { listen: first.hub.address });
    cleanups.push(() => second.hub.close(), () => second.operator.close());
    expect(second.hub.certPem).toBe(first.hub.certPem);
    await waitFor('online again', () => sim.counts().online === 5, 20_000);
    const devices = await waitFor('hub sees them online', async () => {
      const all = await second.operator.allDevices();
      return all.filter((d) => d.online).length === 5 ? all : undefined;
    }, 10_000);
    expect(devices.map((d) => d.id).sort()).toEqual(ids);
    expect(sim.agents.map((a) => a.deviceId).sort()).toEqual(ids);
  });
});
