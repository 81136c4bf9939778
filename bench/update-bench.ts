import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SIM_DEVICE_TYPE } from '../agent/sim/sim-device';
import { SIM_ROOTFS_GROUP } from '../agent/sim/sim-rootfs';
import type { Artifact, DeploymentDetail } from '../proto/gen/fleet/v1/console';
import { Operator } from '../tests/support/operator';
import { procUsage } from '../tests/support/proc-usage';
import { freePort, startHubProgram, startProgram, tempDir, waitFor, type HubProgram, type Program } from '../tests/support/processes';
import { generateSigningKey, getDeployment, uploadArtifact, writeRootfsArtifact, writeSimRootfsImage, type SigningKeyPair } from '../tests/support/update-fixture';
import { FleetTally } from './fleet-tally';

// What the update benchmarks share: a real fleet-hub process trusting a
// fresh signing key, simulated devices in a real `fleet-agent sim` process
// trusting it too, signed simulated rootfs artifacts, and polling one
// deployment. Progress goes to stderr; only the JSON result goes to stdout.

export interface UpdateBench {
  hub: HubProgram;
  operator: Operator;
  key: SigningKeyPair;
  /** the public key file given to simulated devices */
  keyFile: string;
  work: string;
  /** N simulated devices in one process, accepted and online */
  startSims(n: number): Promise<Program>;
  /** a signed rootfs artifact of a simulated image of `size` bytes, uploaded */
  artifact(version: string, size: number): Promise<{ artifact: Artifact; file: string; imageSha: string }>;
  close(): Promise<void>;
}

export function note(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

export async function startUpdateBench(): Promise<UpdateBench> {
  const dirs = { hub: tempDir('bench-update-hub'), sims: tempDir('bench-update-sims'), work: tempDir('bench-update-work') };
  const key = generateSigningKey();
  mkdirSync(join(dirs.hub.path, 'trusted-keys'));
  writeFileSync(join(dirs.hub.path, 'trusted-keys', 'bench.pub'), key.publicKeyPem);
  const keyFile = join(dirs.work.path, 'bench.pub');
  writeFileSync(keyFile, key.publicKeyPem);
  const hub = await startHubProgram(dirs.hub.path, await freePort());
  const operator = new Operator(hub.address, hub.adminToken, hub.certPem);
  const sims: Program[] = [];
  let simCount = 0;
  return {
    hub,
    operator,
    key,
    keyFile,
    work: dirs.work.path,
    async startSims(n) {
      // Devices the hub knew before (other simulators, a real agent) count too.
      const known = await operator.allDevices();
      const total = known.length + n;
      const online = known.filter((d) => d.online).length + n;
      const tally = new FleetTally(operator.client, operator.token);
      const sim = startProgram('fleet-agent', ['sim', '--hub', hub.address, '--ca', join(dirs.hub.path, 'hub.crt'), '--devices', String(n), '--start-index', String(simCount + 1), '--state', dirs.sims.path, '--artifact-key', keyFile]);
      sims.push(sim);
      simCount += n;
      try {
        await waitFor(`${total} devices enrolled`, () => tally.total === total, 300_000, 100);
        await operator.acceptAllPending();
        await waitFor(`${online} devices online`, () => tally.count('online') === online, 300_000, 100);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- sim output (tail):\n${sim.output().slice(-3000)}`);
      } finally {
        tally.close();
      }
      return sim;
    },
    async artifact(version, size) {
      const image = join(dirs.work.path, `fleetos-${version}.img`);
      const file = join(dirs.work.path, `fleetos-${version}.fleet`);
      const imageSha = await writeSimRootfsImage(image, { version, size });
      await writeRootfsArtifact({ out: file, imageFile: image, name: SIM_ROOTFS_GROUP, group: SIM_ROOTFS_GROUP, version, deviceType: DEFAULT_SIM_DEVICE_TYPE, key });
      const artifact = await uploadArtifact(operator, file, statSync(file).size);
      return { artifact, file, imageSha };
    },
    async close() {
      for (const sim of sims) await sim.stop();
      operator.close();
      await hub.stop();
      Object.values(dirs).forEach((d) => d.remove());
    },
  };
}

/** Polls a deployment every `everyMs` until `until(detail)` holds; returns that detail. */
export async function pollDeployment(operator: Operator, id: string, until: (d: DeploymentDetail) => boolean, timeoutMs: number, everyMs = 25): Promise<DeploymentDetail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const detail = await getDeployment(operator, id);
    if (until(detail)) return detail;
    if (Date.now() > deadline) throw new Error(`deployment ${id}: condition not reached within ${timeoutMs} ms: ${JSON.stringify(detail.deployment?.counts)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;
export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** CPU seconds and peak RSS of a process while `work` runs (sampled every 200 ms). */
export async function measureWhile<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpuSeconds: number; rssPeak: number }> {
  const start = procUsage(pid);
  let rssPeak = start.rss;
  const timer = setInterval(() => (rssPeak = Math.max(rssPeak, procUsage(pid).rss)), 200);
  try {
    const result = await work();
    const end = procUsage(pid);
    return { result, cpuSeconds: end.cpuSeconds - start.cpuSeconds, rssPeak: Math.max(rssPeak, end.rss) };
  } finally {
    clearInterval(timer);
  }
}
