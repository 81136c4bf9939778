import { join } from 'node:path';
import { DeviceAgent, type AgentState } from '../agent';
import { DEFAULT_SIM_DEVICE_TYPE, simDeviceName, simIdentity, simInventory } from './sim-device';

// N simulated devices in one process. Each is a full DeviceAgent with its own
// identity key, state folder and TLS connection; only identity and inventory
// are made up. Starts are spread out so the hub is not hit by N handshakes at
// once, and each agent keeps at most one timer, so N = 10,000 fits.

export interface SimulatorOptions {
  hub: string;
  caPem: string;
  devices: number;
  stateDir: string;
  /** default 'sim-device' */
  deviceType?: string;
  /** Index of the first device (folder dev-00001 for 1); default 1. */
  startIndex?: number;
  /** Spread of the starts; default min(devices * 2 ms, 20 s). */
  connectSpreadMs?: number;
  /** Backoff for every device (tests shorten it); default 1 s .. 60 s. */
  backoff?: { baseMs: number; maxMs: number };
  log?: (line: string) => void;
}

export interface RunningSimulator {
  agents: DeviceAgent[];
  counts(): Record<AgentState, number>;
  close(): Promise<void>;
}

const STATES: AgentState[] = ['starting', 'enrolling', 'pending', 'rejected', 'connecting', 'online', 'backoff', 'stopped'];
/** A simulated device's inventory never changes on its own: check rarely. */
const SIM_INVENTORY_INTERVAL_MS = 3_600_000;
const START_TICK_MS = 10;

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  if (!Number.isInteger(opts.devices) || opts.devices < 1) throw new Error(`devices must be a whole number >= 1, got ${opts.devices}`);
  const first = opts.startIndex ?? 1;
  if (!Number.isInteger(first) || first < 0) throw new Error(`startIndex must be a whole number >= 0, got ${first}`);
  const deviceType = opts.deviceType ?? DEFAULT_SIM_DEVICE_TYPE;
  const spreadMs = opts.connectSpreadMs ?? Math.min(opts.devices * 2, 20_000);

  const agents: DeviceAgent[] = [];
  for (let i = 0; i < opts.devices; i++) {
    const index = first + i;
    const name = simDeviceName(index);
    const agent: DeviceAgent = new DeviceAgent({
      hub: opts.hub,
      caPem: opts.caPem,
      stateDir: join(opts.stateDir, name),
      // Called only after the agent loaded its key, so publicKey is set.
      identity: () => simIdentity(deviceType, agent.publicKey!),
      inventory: () => simInventory(index, agent.publicKey!),
      inventoryIntervalMs: SIM_INVENTORY_INTERVAL_MS,
      durableKey: false,
      backoff: opts.backoff,
      log: opts.log && ((line) => opts.log!(`${name}: ${line}`)),
    });
    agents.push(agent);
  }

  // One starter timer for all devices: device k starts at k/N of the spread.
  let started = 0;
  const t0 = Date.now();
  const startDue = (): void => {
    const due = spreadMs <= 0 ? agents.length : Math.min(agents.length, Math.floor(((Date.now() - t0) / spreadMs) * agents.length) + 1);
    while (started < due) agents[started++].start();
    if (started >= agents.length) clearInterval(starter);
  };
  const starter = setInterval(startDue, START_TICK_MS);
  startDue();

  return {
    agents,
    counts() {
      const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<AgentState, number>;
      for (const agent of agents) counts[agent.state]++;
      return counts;
    },
    async close() {
      clearInterval(starter);
      await Promise.all(agents.map((a) => a.stop()));
    },
  };
}
