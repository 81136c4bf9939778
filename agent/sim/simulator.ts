import { join } from 'node:path';
import type { AgentState, DeviceAgent } from '../agent';
import { DEFAULT_SIM_DEVICE_TYPE, simDeviceName } from './sim-device';
import { deviceRemoteConfig, type SimRemoteConfig } from './sim-remote';
import { SimulatedDevice } from './simulated-device';
import { Slots } from './slots';

// N simulated devices in one process. Each is a full DeviceAgent with its own
// identity key, state folder and TLS connection, and takes real updates
// (simulated-device.ts: slot files, file-backed U-Boot, in-process reboots);
// only identity and inventory are made up. Starts are spread out so the hub
// is not hit by N handshakes at once, and each agent keeps at most one timer,
// so N = 10,000 fits.

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
  /** SPKI PEM public keys whose artifact signatures the devices accept (none: every artifact is refused). */
  trustedArtifactKeys?: string[];
  /** Boot limit of the simulated U-Boot (default 1: one boot of a new slot that does not commit falls back). */
  bootlimit?: number;
  /** Health-check time after an update's reboot (default 60 s). */
  healthTimeoutMs?: number;
  /** Update modules the devices have (modulesDir/<name> runs module:<name> payloads); none: module payloads are incompatible. Apps install into each device's DIR/dev-N/apps. */
  modulesDir?: string;
  /** Device state hooks every simulated device runs (<State>_<Moment>_<NN>). */
  hooksDir?: string;
  /**
   * Devices (by index) whose health check fails after an update's reboot,
   * whatever the image says — asked at each health check, so a test may
   * choose them late. `evenShare(percent)` picks a share by index (the CLI's
   * --fail-health PERCENT).
   */
  failHealth?: (index: number) => boolean;
  /**
   * Remote sessions every device serves: the agent config's `remote`
   * section as JSON, e.g. `{ shell: { enabled: true }, files: { enabled:
   * true, roots: ['files'] }, portForward: { enabled: true, allow:
   * ['127.0.0.1:*'] } }`. A relative file root is a folder inside each
   * device's state folder (DIR/dev-N/files), made at start. Absent: every
   * device refuses remote sessions (`disabled`).
   */
  remote?: SimRemoteConfig;
  /**
   * Devices rebooting at once (default 100), from power-off until the new
   * agent is online; the others wait their turn. A reboot is CPU work on
   * this one event loop: thousands started together all finish together,
   * each as late as all of them, and all dial the hub at once (the agent's
   * 30 s Hello timeout fired in the 10,000-device runs) — a limit of the
   * simulation, not of the hub. Real devices reboot on their own CPUs.
   */
  concurrentReboots?: number;
  /**
   * Devices working on an update at once (default 100): a deployment
   * command waits for a slot, held until the device reports a pause, its
   * reboot or an end. 2,500 devices downloading and verifying together kept
   * a simulator's event loop busy past the agents' 10 s keepalive: their
   * connections dropped ("Connection dropped") and all redialled at once.
   */
  concurrentUpdates?: number;
  log?: (line: string) => void;
}

export interface RunningSimulator {
  /** Each device's current agent (a device's agent is replaced when it reboots). */
  readonly agents: DeviceAgent[];
  readonly devices: SimulatedDevice[];
  counts(): Record<AgentState, number>;
  close(): Promise<void>;
}

const STATES: AgentState[] = ['starting', 'enrolling', 'pending', 'rejected', 'connecting', 'online', 'backoff', 'stopped'];
/** A simulated device's inventory never changes on its own: check rarely. */
const SIM_INVENTORY_INTERVAL_MS = 3_600_000;
const START_TICK_MS = 10;
const DEFAULT_CONCURRENT_REBOOTS = 100;
const DEFAULT_CONCURRENT_UPDATES = 100;

/**
 * Exactly ⌊N·percent/100⌋ of the devices 1..N, spread evenly by index: device
 * i is chosen when ⌊i·percent/100⌋ steps up at i (6 % of 1..200: 12 devices,
 * 17, 34, 50, ...). Reproducible, and independent of keys and enrollment order.
 */
export function evenShare(percent: number): (index: number) => boolean {
  if (!(percent >= 0 && percent <= 100)) throw new Error(`a share must be a percent from 0 to 100, got ${percent}`);
  return (index) => index >= 1 && Math.floor((index * percent) / 100) > Math.floor(((index - 1) * percent) / 100);
}

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  if (!Number.isInteger(opts.devices) || opts.devices < 1) throw new Error(`devices must be a whole number >= 1, got ${opts.devices}`);
  const first = opts.startIndex ?? 1;
  if (!Number.isInteger(first) || first < 0) throw new Error(`startIndex must be a whole number >= 0, got ${first}`);
  const deviceType = opts.deviceType ?? DEFAULT_SIM_DEVICE_TYPE;
  const spreadMs = opts.connectSpreadMs ?? Math.min(opts.devices * 2, 20_000);
  // A bad remote section fails here, once, rather than in every device.
  deviceRemoteConfig(opts.remote, join(opts.stateDir, simDeviceName(first)));

  const rebootSlots = new Slots(opts.concurrentReboots ?? DEFAULT_CONCURRENT_REBOOTS);
  const updateSlots = new Slots(opts.concurrentUpdates ?? DEFAULT_CONCURRENT_UPDATES);
  const devices: SimulatedDevice[] = [];
  for (let i = 0; i < opts.devices; i++) {
    const index = first + i;
    const name = simDeviceName(index);
    devices.push(
      new SimulatedDevice({
        index,
        name,
        stateDir: join(opts.stateDir, name),
        hub: opts.hub,
        caPem: opts.caPem,
        deviceType,
        trustedArtifactKeys: opts.trustedArtifactKeys ?? [],
        inventoryIntervalMs: SIM_INVENTORY_INTERVAL_MS,
        backoff: opts.backoff,
        bootlimit: opts.bootlimit,
        healthTimeoutMs: opts.healthTimeoutMs,
        modulesDir: opts.modulesDir,
        hooksDir: opts.hooksDir,
        failHealth: opts.failHealth,
        remote: opts.remote,
        rebootSlots,
        updateSlots,
        log: opts.log,
      }),
    );
  }

  // One starter timer for all devices: device k starts at k/N of the spread.
  let started = 0;
  const starting: Promise<void>[] = [];
  const t0 = Date.now();
  const startDue = (): void => {
    const due = spreadMs <= 0 ? devices.length : Math.min(devices.length, Math.floor(((Date.now() - t0) / spreadMs) * devices.length) + 1);
    while (started < due) {
      const device = devices[started++];
      starting.push(device.start().catch((err) => opts.log?.(`cannot start a simulated device: ${(err as Error).message}`)));
    }
    if (started >= devices.length) clearInterval(starter);
  };
  const starter = setInterval(startDue, START_TICK_MS);
  startDue();

  return {
    get agents() {
      return devices.map((d) => d.agent);
    },
    devices,
    counts() {
      const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<AgentState, number>;
      for (const device of devices) counts[device.agent.state]++;
      return counts;
    },
    async close() {
      clearInterval(starter);
      await Promise.all(starting);
      await Promise.all(devices.map((d) => d.stop()));
    },
  };
}
