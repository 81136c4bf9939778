import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../sim/simulator';
import { ScriptedHub, type ScriptedHubOptions, type TestCertificate } from './scripted-hub';
import { waitFor } from './wait-for';

// One simulated device, accepted and online on a scripted hub, trusting one
// artifact signing key: the starting point of every simulated-update test.

export interface SimFleet {
  hub: ScriptedHub;
  /** Replaced by restart(). */
  sim: RunningSimulator;
  dir: string;
  deviceId: string;
  /** The device's state folder (slots, bootloader, update state). */
  dev: string;
  opts: SimulatorOptions;
  /** A power cut and power-on: a clean stop of the simulator, then a new one on the same folder. */
  restart(): Promise<void>;
  /** Stops the simulator and the hub and removes the folder. */
  close(): Promise<void>;
}

export interface SimFleetOptions {
  cert: TestCertificate;
  trustedKeyPem: string;
  /** Temp folder prefix, for finding a failed test's leftovers. */
  prefix: string;
  sim?: Partial<SimulatorOptions>;
  hub?: ScriptedHubOptions;
}

export async function startSimFleet(o: SimFleetOptions): Promise<SimFleet> {
  const hub = new ScriptedHub(o.cert, { heartbeatIntervalMs: 200, ...o.hub });
  await hub.listen();
  const dir = mkdtempSync(join(tmpdir(), o.prefix));
  const opts: SimulatorOptions = {
    hub: hub.address,
    caPem: o.cert.certPem,
    devices: 1,
    stateDir: dir,
    connectSpreadMs: 0,
    backoff: { baseMs: 50, maxMs: 300 },
    trustedArtifactKeys: [o.trustedKeyPem],
    healthTimeoutMs: 10_000,
    ...o.sim,
  };
  const fleet: SimFleet = {
    hub,
    sim: await startSimulator(opts),
    dir,
    deviceId: '',
    dev: join(dir, 'dev-00001'),
    opts,
    async restart() {
      await fleet.sim.close();
      fleet.sim = await startSimulator(opts);
    },
    async close() {
      await fleet.sim.close();
      hub.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('pending', () => hub.devices.size === 1);
    for (const k of hub.devices.keys()) hub.setAdmission(k, 'accepted');
    await waitFor('online', () => fleet.sim.agents[0].state === 'online');
  } catch (err) {
    await fleet.close();
    throw err;
  }
  fleet.deviceId = fleet.sim.agents[0].deviceId;
  return fleet;
}
