import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateIdentityKey } from '../../agent/identity-key';
import { simIdentity } from '../../agent/sim/sim-device';
import { factoryImage, makeSimRootfsArtifact } from '../../agent/testing/sim-image';
import { generateSigningKey } from '../../artifact';
import { uploadBytes } from '../../hub/testing/fleet-fixtures';
import { bearer, call, consoleClient } from '../../hub/testing/grpc-clients';
import { startTestHub, type TestHub } from '../../hub/testing/test-hub';
import type { ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import { repoRoot, startProgram, tempDir, waitFor, type Program } from '../support/processes';

// The power-cut proof. A real hub; for each trial a fresh simulated device
// (its own `fleet-agent sim --devices 1` process) gets a deployment, and the
// process kills itself with SIGKILL (FLEET_CRASH_AT: a real kill -9) at a
// state transition or at a random byte offset of the download or of the
// write into the slot — one to four times in a row. Each restart of
// the process is a power-on (simulateBoot: the bootloader counts the boot and
// may fall back). Every trial must end with the device booted on a committed
// slot holding exactly the old or the new image (sha256 of the slot file),
// and the hub's final status must say which: success exactly when the new
// image runs, committed.
//
// Three scenarios: a good release (success path), a release whose health
// check fails (rollback path), and the good release with pauses before
// install, reboot and commit that the operator released in advance (each
// pause is reported and continued at once), so the transitions of all are
// cut — a cut while paused must come back paused (then continued), and a cut
// while paused before the commit is a boot of the trial slot (boot limit 1:
// it falls back, rolled-back). The named
// points come from a traced clean run of each (FLEET_CRASH_TRACE), so a new
// transition is cut without touching this test.
//
// The device program is agent/cli.ts bundled once by esbuild (the same code
// as bin/fleet-agent.js, which loads it through tsx): a start then costs
// ~0.2 s of CPU instead of ~0.6 s, which is what lets 200 cuts fit in CI on
// two cores. POWER_CUT_PROGRAM=bin uses bin/fleet-agent.js itself.
// POWER_CUT_CUTS=N: run trials until N cuts (default 200); POWER_CUT_PARALLEL:
// trials at once (default 6); POWER_CUT_SEED; POWER_CUT_REPORT=FILE writes
// the figures and every trial as JSON.

const IMAGE_SIZE = 1024 * 1024;
const MIN_CUTS = Number(process.env.POWER_CUT_CUTS ?? 200);
const PARALLEL = Number(process.env.POWER_CUT_PARALLEL ?? 6);
const FINAL = new Set(['success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted']);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Scenario {
  name: 'good' | 'bad' | 'paused';
  artifactId: string;
  imageSha: string;
  /** Named crash points of a clean run, in order. */
  points: string[];
}

interface TrialResult {
  scenario: string;
  planned: string[];
  /** Points where the process really died. */
  cuts: string[];
  status: string;
  reason: string;
  slot: string;
  image: 'old' | 'new' | 'other';
  ms: number;
}

let hub: TestHub;
let operators: ConsoleServiceClient;
let work: ReturnType<typeof tempDir>;
let keyFile: string;
let caFile: string;
let bundle: string | undefined;
/** A failed trial keeps the whole work folder for a post-mortem. */
let keepWork = false;
/** Device processes running now. */
const live = new Set<Program>();
const scenarios: Scenario[] = [];
const results: TrialResult[] = [];
const oldSha = sha(factoryImage());
let seed = Number(process.env.POWER_CUT_SEED ?? 20261127);

function random(): number {
  // mulberry32: reproducible with POWER_CUT_SEED
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const admin = () => bearer(hub.hub.adminToken);

beforeAll(async () => {
  hub = await startTestHub({ heartbeatIntervalMs: 2000 });
  operators = consoleClient(hub.hub);
  work = tempDir('power-cut');
  const key = generateSigningKey();
  writeFileSync(join(hub.dir, 'trusted-keys', 'release.pub'), key.publicKeyPem);
  keyFile = join(work.path, 'release.pub');
  writeFileSync(keyFile, key.publicKeyPem);
  caFile = hub.hub.certPath;
  if (process.env.POWER_CUT_PROGRAM !== 'bin') {
    // version.ts reads ../package.json next to the program.
    mkdirSync(join(work.path, 'program/bin'), { recursive: true });
    copyFileSync(join(repoRoot, 'package.json'), join(work.path, 'program/package.json'));
    bundle = join(work.path, 'program/bin/fleet-agent.mjs');
    execFileSync(
      join(repoRoot, 'node_modules/.bin/esbuild'),
      [join(repoRoot, 'agent/cli.ts'), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--log-level=warning', `--outfile=${bundle}`, "--banner:js=import { createRequire as __req } from 'node:module'; const require = __req(import.meta.url);"],
      { stdio: 'pipe' },
    );
  }
  for (const [name, version, healthy] of [['good', '2.0.0', true], ['bad', '3.0.0', false]] as const) {
    const { artifact, image } = await makeSimRootfsArtifact({ version, size: IMAGE_SIZE, healthy, signingKey: key.privateKeyPem });
    const uploaded = (await uploadBytes(operators, admin(), artifact)).artifact!;
    scenarios.push({ name, artifactId: uploaded.id, imageSha: sha(image), points: [] });
  }
  scenarios.push({ ...scenarios[0], name: 'paused', points: [] });
}, 60_000);

afterAll(async () => {
  // A failed trial leaves its siblings running: stop them.
  await Promise.all([...live].map((p) => p.kill9()));
  operators?.close();
  await hub?.dispose();
  if (!keepWork) work?.remove();
});

let trialCount = 0;

/** A fresh device the hub already accepts, with a deployment of the scenario's artifact waiting for it. */
async function newDevice(s: Scenario): Promise<{ dir: string; deviceId: string; deploymentId: string }> {
  const dir = join(work.path, `trial-${++trialCount}`);
  const devDir = join(dir, 'dev-00001');
  mkdirSync(devDir, { recursive: true });
  const key = await loadOrCreateIdentityKey(devDir, { durable: false });
  const device = await call(operators, operators.preauthorizeDevice, { publicKey: key.publicKey, identity: simIdentity('sim-device', key.publicKey) }, admin());
  const paused = s.name === 'paused' ? { rollout: { phases: [], pauseBefore: ['install', 'reboot', 'commit'], window: undefined, maxFailures: undefined, retries: 0, dynamicGroup: '', maxDevices: 0 } } : {};
  const dep = await call(
    operators,
    operators.createDeployment,
    { name: `power-cut ${trialCount}`, artifactId: s.artifactId, artifactName: '', deviceIds: [device.id], group: '', allowDowngrade: false, force: false, ...paused },
    admin(),
  );
  // Released in advance: the hub answers each pause with its continue.
  if (s.name === 'paused') await call(operators, operators.continueDeployment, { id: dep.id, stage: 'commit', phase: 0, deviceIds: [] }, admin());
  return { dir, deviceId: device.id, deploymentId: dep.id };
}

async function hubStatus(deploymentId: string): Promise<{ status: string; reason: string }> {
  const d = await call(operators, operators.getDeployment, { id: deploymentId }, admin());
  return d.devices[0] ?? { status: 'pending', reason: '' };
}

/** `fleet-agent ARGS`: the bundle, or the real bin. */
function startDevice(args: string[], env: NodeJS.ProcessEnv): Program {
  if (!bundle) return startProgram('fleet-agent', args, env);
  const child = spawn(process.execPath, [bundle, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)));
  const kill = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    return exited;
  };
  return { child, output: () => out, exited, kill9: () => kill('SIGKILL'), stop: () => kill('SIGTERM') };
}

/** One power-on of the device: runs until it dies at `crashAt` (true) or the hub has a final status (false). */
async function powerOn(dir: string, deploymentId: string, crashAt: string | undefined, traceFile?: string): Promise<boolean> {
  const env: NodeJS.ProcessEnv = { FLEET_CRASH_AT: crashAt ?? '', FLEET_CRASH_TRACE: traceFile ?? '' };
  const sim = startDevice(['sim', '--hub', hub.hub.address, '--ca', caFile, '--devices', '1', '--state', dir, '--spread-ms', '0', '--artifact-key', keyFile], env);
  let exit: number | string | undefined;
  live.add(sim);
  void sim.exited.then((code) => {
    exit = code;
    live.delete(sim);
  });
  try {
    await waitFor(
      `the device to die at ${crashAt ?? '(no cut)'} or finish`,
      async () => exit !== undefined || FINAL.has((await hubStatus(deploymentId)).status),
      60_000,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- device output:\n${sim.output()}`);
  }
  if (exit === undefined) {
    await sim.kill9();
    return false;
  }
  if (exit !== 'SIGKILL') throw new Error(`the device process exited with ${exit}, not by a cut:\n${sim.output()}`);
  return true;
}

async function runTrial(s: Scenario, plan: string[]): Promise<TrialResult> {
  const t0 = Date.now();
  const { dir, deploymentId } = await newDevice(s);
  const cuts: string[] = [];
  for (const point of plan) {
    if (await powerOn(dir, deploymentId, point)) cuts.push(point);
    else break;
  }
  // The last power-on: no cut. Run until the hub has the final status.
  if (cuts.length === plan.length) await powerOn(dir, deploymentId, undefined);
  const { status, reason } = await hubStatus(deploymentId);
  const dev = join(dir, 'dev-00001');
  const slot = readFileSync(join(dev, 'bootloader/cmdline'), 'utf8').trim().replace('fleet.slot=', '');
  const env = readFileSync(join(dev, 'bootloader/env'), 'utf8');
  const running = sha(readFileSync(join(dev, `slots/${slot}.img`)));
  const image = running === oldSha ? 'old' : running === s.imageSha ? 'new' : 'other';
  const result: TrialResult = { scenario: s.name, planned: plan, cuts, status, reason, slot, image, ms: Date.now() - t0 };
  // Booted on a committed slot: the next power-on boots the same one.
  const committed = env.includes(`fleet_boot_part=${slot}\n`) && env.includes('upgrade_available=0\n');
  if (image === 'other' || !committed || (status === 'success') !== (image === 'new') || !FINAL.has(status)) {
    keepWork = true;
    throw new Error(`trial failed (its folder is kept: ${dir}): ${JSON.stringify(result)}\nenv:\n${env}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/** Named points of a clean run of the scenario. */
async function tracePoints(s: Scenario): Promise<string[]> {
  const { dir, deploymentId } = await newDevice(s);
  const traceFile = join(dir, 'trace');
  expect(await powerOn(dir, deploymentId, undefined, traceFile)).toBe(false);
  return existsSync(traceFile) ? readFileSync(traceFile, 'utf8').trim().split('\n') : [];
}

/** Cuts in the order a run meets them: byte offsets (only from the start), then points after index `after` of the trace. */
function randomPlan(s: Scenario, after = -1): string[] {
  const plan: string[] = [];
  if (after < 0 && random() < 0.5) plan.push(`download-bytes:${1 + Math.floor(random() * (IMAGE_SIZE - 1))}`);
  if (after < 0 && random() < 0.5) plan.push(`store-bytes:${1 + Math.floor(random() * (IMAGE_SIZE - 1))}`);
  const left = s.points.length - after - 1;
  const picks = Array.from({ length: Math.floor(random() * 3) }, () => after + 1 + Math.floor(random() * left)).filter((i) => i < s.points.length);
  for (const i of [...new Set(picks)].sort((a, b) => a - b)) plan.push(s.points[i]);
  return plan.length || left <= 0 ? plan : [s.points[after + 1 + Math.floor(random() * left)]];
}

describe('power cuts during updates', () => {
  it(`ends every trial on the old or the new image with the matching hub status (≥${MIN_CUTS} cuts)`, async () => {
    const t0 = Date.now();
    for (const s of scenarios) s.points = await tracePoints(s);
    const [good, bad, paused] = scenarios;
    expect(good.points).toEqual(expect.arrayContaining(['persisted:install->reboot#1', 'sim:reboot#1', 'sim:booted#1', 'persist:commit->done#1', 'rootfs:committed#1']));
    expect(bad.points).toEqual(expect.arrayContaining(['persisted:verify->rollback#1', 'rootfs:rolled-back#1', 'persisted:rollback->rollback-reboot#1', 'sim:reboot#2']));
    expect(paused.points).toEqual(
      expect.arrayContaining([
        'persisted:store->paused-before-install#1',
        'persisted:continue-install#1',
        'rootfs:switched#1',
        'pause:disarmed#1',
        'persisted:install->paused-before-reboot#1',
        'persisted:continue-reboot#1',
        'pause:rearmed#1',
        'persisted:verify->paused-before-commit#1',
        'persisted:continue-commit#1',
      ]),
    );

    // First every named point of both scenarios as the first cut (then
    // maybe later points), then random trials — a byte offset of the
    // download, of the slot write, then one or two transitions, in the
    // order a run meets them — until MIN_CUTS cuts happened.
    const first: { s: Scenario; plan: string[] }[] = [];
    for (const s of scenarios) s.points.forEach((p, i) => first.push({ s, plan: [p, ...randomPlan(s, i)] }));
    let cutsSoFar = 0;
    const nextPlan = (): { s: Scenario; plan: string[] } | undefined => {
      const fixed = first.shift();
      if (fixed) return fixed;
      if (cutsSoFar >= MIN_CUTS) return undefined;
      const r = random();
      const s = r < 0.45 ? good : r < 0.75 ? paused : bad;
      return { s, plan: randomPlan(s) };
    };
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let job = nextPlan(); job; job = nextPlan()) {
          const r = await runTrial(job.s, job.plan);
          cutsSoFar += r.cuts.length;
          results.push(r);
        }
      }),
    );

    const cuts = results.reduce((n, r) => n + r.cuts.length, 0);
    const namedCut = new Set(results.flatMap((r) => r.cuts.filter((c) => !c.includes('-bytes:')).map((c) => `${r.scenario}:${c}`)));
    const figures = {
      trials: results.length,
      cuts,
      cutsAtTransitions: results.reduce((n, r) => n + r.cuts.filter((c) => !c.includes('-bytes:')).length, 0),
      cutsInDownload: results.reduce((n, r) => n + r.cuts.filter((c) => c.startsWith('download-bytes:')).length, 0),
      cutsInSlotWrite: results.reduce((n, r) => n + r.cuts.filter((c) => c.startsWith('store-bytes:')).length, 0),
      plannedCutsNotReached: results.reduce((n, r) => n + r.planned.length - r.cuts.length, 0),
      namedPoints: Object.fromEntries(scenarios.map((s) => [s.name, s.points.length])),
      outcomes: Object.fromEntries(
        [...new Set(results.map((r) => `${r.scenario} ${r.status} (${r.image} image)`))].sort().map((k) => [k, results.filter((r) => `${r.scenario} ${r.status} (${r.image} image)` === k).length]),
      ),
      failures: 0,
      program: bundle ? 'agent/cli.ts bundled by esbuild' : 'bin/fleet-agent.js',
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      parallel: PARALLEL,
      meanTrialMs: Math.round(results.reduce((n, r) => n + r.ms, 0) / results.length),
    };
    console.log(`power-cut figures: ${JSON.stringify(figures, null, 1)}`);
    if (process.env.POWER_CUT_REPORT) writeFileSync(process.env.POWER_CUT_REPORT, JSON.stringify({ figures, results }, null, 1));

    expect(cuts).toBeGreaterThanOrEqual(MIN_CUTS);
    // Every transition of both paths was cut at least once.
    for (const s of scenarios) for (const p of s.points) expect(namedCut, `${s.name}:${p} never cut`).toContain(`${s.name}:${p}`);
    // A good release ends in success unless a cut sent it back; a bad one never succeeds.
    expect(results.filter((r) => r.scenario === 'bad' && r.status === 'success')).toEqual([]);
    expect(results.some((r) => r.scenario === 'good' && r.status === 'success')).toBe(true);
    expect(results.some((r) => r.scenario === 'paused' && r.status === 'success')).toBe(true);
  }, Math.max(600_000, MIN_CUTS * 2_000));
});
