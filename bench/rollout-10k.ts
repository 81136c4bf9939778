// Rollout with a pause before install (issue #4), the maintenance-window
// figure: a small signed rootfs artifact to N simulated devices (default
// 10,000, in several real `fleet-agent sim` processes) through a real
// fleet-hub process, as one deployment to a static group with
// `pause_before: install`. Measures
//   1. downloadedMs: from creating the deployment until every device has
//      downloaded and reports paused-before-install;
//   2. continueToCommittedMs: from one ContinueDeployment (the whole
//      deployment) until every device has installed, rebooted (a new agent,
//      a new TLS connection), passed its health check and committed
//      (target: under 2 minutes);
// and hub CPU and RSS sampled from /proc during each part. Prints JSON.
//
//   npx tsx bench/rollout-10k.ts [N] [SIM_PROCESSES] [IMAGE_KIB]   (default 10000 ceil(N/5000) 64)
//
// BENCH_SIM_NICE=N runs the simulator processes niced once their devices are online.
// BENCH_SIM_STATE=DIR puts the simulated devices' state folders there
// (default: in /dev/shm when it exists, see below).
// BENCH_OUTPUT_DIR=DIR writes the hub's and the simulators' output there
// every 10 s and at the end (what a slow run was doing); BENCH_SIM_VERBOSE=1
// has the simulators log every device's steps.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deployment } from '../proto/gen/fleet/v1/console';
import { unary } from '../src-main/services/hub-client/hub-connection';
import { procUsage } from '../tests/support/proc-usage';
import { getDeployment } from '../tests/support/update-fixture';
import { deploymentRequest } from '../hub/testing/rollout-fleet';
import { FleetTally } from './fleet-tally';
import { measureWhile, mib, note, round, startUpdateBench, type UpdateBench } from './update-bench';
import { startProgram, waitFor, type Program } from '../tests/support/processes';

const n = Number(process.argv[2] ?? 10_000);
const processes = Number(process.argv[3] ?? Math.ceil(n / 5000));
const imageKiB = Number(process.argv[4] ?? 64);
/** Niceness of the simulator processes once online (BENCH_SIM_NICE); see below. */
const SIM_NICE = Number(process.env.BENCH_SIM_NICE ?? 0);
if (!(n > 0) || !(processes > 0) || !(imageKiB > 0)) throw new Error('usage: tsx bench/rollout-10k.ts [N] [SIM_PROCESSES] [IMAGE_KIB]');

/** The deployment's row (counts, status) without its N device rows: cheap to poll. */
async function row(bench: UpdateBench, id: string): Promise<Deployment> {
  const ask = () => unary(bench.operator.client, bench.operator.client.listDeployments, { status: '', limit: 5 }, bench.operator.token, 60_000);
  // One retry: a busy hub may drop the operator's connection; a dead one fails again.
  const list = await ask().catch((err: Error) => {
    note(`listing deployments failed (${err.message}); hub ${bench.hub.child.exitCode === null ? 'running' : `exited ${bench.hub.child.exitCode}`}; once more`);
    return ask();
  });
  const d = list.deployments.find((x) => x.id === id);
  if (!d) throw new Error(`deployment ${id} not listed`);
  return d;
}

async function until(bench: UpdateBench, id: string, what: string, done: (d: Deployment) => boolean, timeoutMs: number, alive: () => void): Promise<Deployment> {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  let last = '';
  for (;;) {
    const d = await row(bench, id);
    if (done(d)) return d;
    alive();
    const counts = JSON.stringify(d.counts);
    if (counts !== last) note(`${what} +${((Date.now() - t0) / 1000).toFixed(0)} s: ${counts}`);
    last = counts;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms: ${counts}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// The simulated devices' disks: each real device writes its download, its
// slot and its state files to its own storage. On the one disk of this
// machine, 10,000 devices' writes (~250 KiB each, with fsyncs) would be
// charged to the hub: its SQLite commits and checkpoints queue behind them
// (the hub's time in COMMIT grew 3x at 2,000 devices). So the devices'
// state lives in memory (tmpfs) when the machine has one; the hub's
// database stays on the disk.
const SIM_STATE_ROOT = process.env.BENCH_SIM_STATE ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());

/** N simulated devices in one `fleet-agent sim` process with state under `stateDir`, accepted and online. */
async function startSims(bench: UpdateBench, n: number, firstIndex: number, stateDir: string): Promise<Program> {
  const known = await bench.operator.allDevices();
  const total = known.length + n;
  const online = known.filter((d) => d.online).length + n;
  const tally = new FleetTally(bench.operator.client, bench.operator.token);
  const ca = join(bench.hub.dataDir, 'hub.crt');
  const sim = startProgram('fleet-agent', ['sim', '--hub', bench.hub.address, '--ca', ca, '--devices', String(n), '--start-index', String(firstIndex), '--state', stateDir, '--artifact-key', bench.keyFile, ...(process.env.BENCH_SIM_VERBOSE ? ['--verbose'] : [])]);
  try {
    await waitFor(`${total} devices enrolled`, () => tally.total === total, 300_000, 100);
    await bench.operator.acceptAllPending();
    await waitFor(`${online} devices online`, () => tally.count('online') === online, 300_000, 100);
  } catch (err) {
    await sim.stop();
    throw new Error(`${(err as Error).message}\n--- sim output (tail):\n${sim.output().slice(-3000)}`);
  } finally {
    tally.close();
  }
  return sim;
}

/** Writes every program's output to BENCH_OUTPUT_DIR (if set). */
function saveOutputs(bench: UpdateBench, sims: Program[]): void {
  const dir = process.env.BENCH_OUTPUT_DIR;
  if (!dir) return;
  writeFileSync(join(dir, 'hub.log'), bench.hub.output());
  sims.forEach((sim, i) => writeFileSync(join(dir, `sim-${i + 1}.log`), sim.output()));
}

/** Peak RSS and CPU of the simulator processes over a part of the run; a simulator that died fails the run with its output. */
function simSampler(sims: Program[]) {
  let dead: Program | undefined;
  const usage = () =>
    sims.map((s) => {
      if (s.child.exitCode !== null || s.child.signalCode !== null) dead ??= s;
      return dead ? { rss: 0, cpuSeconds: 0 } : procUsage(s.child.pid!);
    });
  const total = (u: ReturnType<typeof usage>, key: 'rss' | 'cpuSeconds') => u.reduce((t, x) => t + x[key], 0);
  const cpu0 = total(usage(), 'cpuSeconds');
  let rssPeak = 0;
  const timer = setInterval(() => (rssPeak = Math.max(rssPeak, total(usage(), 'rss'))), 1000);
  timer.unref(); // a failed run must still exit
  return {
    check() {
      if (dead) throw new Error(`a simulator process ended (${dead.child.exitCode ?? dead.child.signalCode}); its output (tail):\n${dead.output().slice(-3000)}`);
    },
    end() {
      clearInterval(timer);
      this.check();
      return { cpuSeconds: round(total(usage(), 'cpuSeconds') - cpu0), rssPeakMiBAll: mib(rssPeak) };
    },
  };
}

const bench = await startUpdateBench();
const sims: Program[] = [];
const simState = mkdtempSync(join(SIM_STATE_ROOT, 'fleet-bench-rollout-sims-'));
const saving = setInterval(() => saveOutputs(bench, sims), 10_000);
saving.unref();
try {
  const { artifact, file } = await bench.artifact('2.0.0', imageKiB * 1024);
  const tOnline = performance.now();
  for (let p = 0, first = 1; p < processes; p++) {
    const size = Math.floor(n / processes) + (p < n % processes ? 1 : 0);
    note(`starting ${size} simulated devices (process ${p + 1} of ${processes}, state in ${simState})`);
    const sim = await startSims(bench, size, first, simState);
    first += size;
    // The simulators stand in for 10,000 devices' own CPUs: on a dedicated
    // 2-core machine niced simulators leave the hub its share (one hub among
    // several busy simulator processes gets a fraction of a core). On a
    // machine shared with other work, niced simulators lose to everything
    // else and barely move, hence 0 unless BENCH_SIM_NICE says otherwise.
    if (SIM_NICE) setPriority(sim.child.pid!, SIM_NICE);
    sims.push(sim);
  }
  const onlineMs = performance.now() - tOnline;
  const ids = (await bench.operator.allDevices()).map((d) => d.id);
  await unary(bench.operator.client, bench.operator.client.setGroupMembers, { name: 'fleet', add: ids, remove: [] }, bench.operator.token, 120_000);
  const hubIdle = procUsage(bench.hub.child.pid!).rss;

  note(`deploying ${artifact.name} ${artifact.version} (${statSync(file).size} bytes) to ${n} devices, pause before install`);
  const t0 = performance.now();
  const simDownload = simSampler(sims);
  const download = await measureWhile(bench.hub.child.pid!, async () => {
    const req = deploymentRequest({ artifactId: artifact.id, group: 'fleet' }, { pauseBefore: ['install'] });
    const deployment = await unary(bench.operator.client, bench.operator.client.createDeployment, req, bench.operator.token, 120_000);
    const createdMs = performance.now() - t0;
    await until(bench, deployment.id, 'downloading', (d) => d.counts['paused-before-install'] === n, 1_800_000, () => simDownload.check());
    return { id: deployment.id, createdMs, allPausedMs: performance.now() - t0 };
  });
  const simDownloadUsage = simDownload.end();
  const id = download.result.id;

  note(`all ${n} paused before install; continue`);
  const t1 = performance.now();
  const simInstall = simSampler(sims);
  const install = await measureWhile(bench.hub.child.pid!, async () => {
    await unary(bench.operator.client, bench.operator.client.continueDeployment, { id, stage: '', phase: 0, deviceIds: [] }, bench.operator.token, 120_000);
    const continueCallMs = performance.now() - t1;
    const end = await until(bench, id, 'installing', (d) => d.status !== 'active', 1_800_000, () => simInstall.check());
    return { continueCallMs, end, allCommittedMs: performance.now() - t1 };
  });
  const simInstallUsage = simInstall.end();
  const counts = install.result.end.counts;
  if (counts.success !== n) throw new Error(`not every device succeeded: ${JSON.stringify(counts)}`);

  // Per-device finish times after the continue, from the hub's rows (read once).
  const detail = await getDeployment(bench.operator, id);
  const continuedAt = detail.history!.entries.find((e) => e.action === 'continued')!.atMs;
  const finished = detail.devices.map((d) => d.finishedMs - continuedAt).sort((a, b) => a - b);
  const pct = (p: number) => finished[Math.min(finished.length - 1, Math.floor((p / 100) * finished.length))];
  const seconds = (ms: number) => ms / 1000;

  console.log(
    JSON.stringify(
      {
        benchmark: 'rollout-10k',
        devices: n,
        simulatorProcesses: processes,
        simulatorNice: SIM_NICE,
        simulatorStateIn: SIM_STATE_ROOT,
        artifactBytes: statSync(file).size,
        what: 'one deployment to a static group with pause before install; all download and pause, then one ContinueDeployment: install into slot B, reboot (new agent, new TLS connection), health check, commit',
        fleetOnlineMs: Math.round(onlineMs),
        createDeploymentMs: Math.round(download.result.createdMs),
        downloadedAndPausedMs: Math.round(download.result.allPausedMs),
        continueCallMs: Math.round(install.result.continueCallMs),
        continueToCommittedMs: Math.round(install.result.allCommittedMs),
        targetContinueToCommittedMs: 120_000,
        targetMet: install.result.allCommittedMs < 120_000,
        deviceCommittedAfterContinueMs: { p50: pct(50), p90: pct(90), max: pct(100) },
        counts,
        hub: {
          rssIdleMiB: mib(hubIdle),
          download: { cpuSeconds: round(download.cpuSeconds), cpuCoresAverage: round(download.cpuSeconds / seconds(download.result.allPausedMs)), rssPeakMiB: mib(download.rssPeak) },
          continueToCommitted: { cpuSeconds: round(install.cpuSeconds), cpuCoresAverage: round(install.cpuSeconds / seconds(install.result.allCommittedMs)), rssPeakMiB: mib(install.rssPeak) },
        },
        simulators: { download: simDownloadUsage, continueToCommitted: simInstallUsage },
      },
      null,
      2,
    ),
  );
} catch (err) {
  const state = (p: Program) => (p.child.exitCode ?? p.child.signalCode ?? 'running');
  note(`failed: ${(err as Error).message}\n--- hub (${state(bench.hub)}) output (tail):\n${bench.hub.output().slice(-4000)}`);
  for (const [i, sim] of sims.entries()) note(`--- simulator ${i + 1} (${state(sim)}) output (tail):\n${sim.output().slice(-1500)}`);
  process.exitCode = 1;
} finally {
  clearInterval(saving);
  saveOutputs(bench, sims);
  for (const sim of sims) await sim.stop();
  await bench.close();
  rmSync(simState, { recursive: true, force: true });
}
