import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { AdmissionStatus } from '../../proto/gen/fleet/v1/common';
import { freePort, startHubProgram, startProgram, tempDir, waitFor, type HubProgram, type Program } from '../support/processes';
import { Operator } from '../support/operator';

// The fault test: kill -9 the hub while 200 simulated devices are
// connected. All must come back online by themselves, and the database must
// hold exactly the same 200 devices: nothing lost, nothing duplicated.

const N = 200;

describe('hub killed with 200 devices connected', () => {
  const hubDir = tempDir('hub');
  const simDir = tempDir('sim');
  let port: number;
  let hub: HubProgram;
  let sim: Program;
  let operator: Operator;

  beforeAll(async () => {
    port = await freePort();
    hub = await startHubProgram(hubDir.path, port);
    operator = new Operator(hub.address, hub.adminToken, hub.certPem);
    sim = startProgram('fleet-agent', ['sim', '--hub', hub.address, '--ca', join(hubDir.path, 'hub.crt'), '--devices', String(N), '--state', simDir.path]);
  });

  afterAll(async () => {
    operator?.close();
    await sim?.stop();
    await hub?.stop();
    hubDir.remove();
    simDir.remove();
  });

  it('brings all devices back online after kill -9, with nothing lost or duplicated', async () => {
    await waitFor(`${N} pending devices`, async () => (await operator.allDevices({ status: AdmissionStatus.ADMISSION_STATUS_PENDING })).length === N, 60_000, 250);
    expect(await operator.acceptAllPending()).toHaveLength(N);
    await waitFor(`${N} devices online`, async () => (await operator.allDevices()).filter((d) => d.online).length === N, 60_000, 250);
    const before = (await operator.allDevices()).map((d) => d.id).sort();

    operator.close();
    expect(await hub.kill9()).toBe('SIGKILL');
    hub = await startHubProgram(hubDir.path, port);
    operator = new Operator(hub.address, hub.adminToken, hub.certPem);

    await waitFor(`${N} devices online again`, async () => (await operator.allDevices()).filter((d) => d.online).length === N, 90_000, 250);
    const after = await operator.allDevices();
    expect(after.map((d) => d.id).sort()).toEqual(before);
    expect(after.every((d) => d.status === AdmissionStatus.ADMISSION_STATUS_ACCEPTED)).toBe(true);
    expect(after.every((d) => d.inventory['os.pretty_name'])).toBe(true);
    expect(sim.child.exitCode).toBeNull(); // the simulator rode out the hub's death

    // The database itself: one row per device and per key.
    const db = new Database(join(hubDir.path, 'hub.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT public_key) AS keys FROM devices').get() as { n: number; keys: number };
      expect(rows).toEqual({ n: N, keys: N });
    } finally {
      db.close();
    }
  });
});
