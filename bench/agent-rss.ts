// Agent memory (issue #3; target: under 60 MiB idle). Resident set size of
// one agent process with one device against a real fleet-hub process:
//   - `fleet-agent run` (the real agent, real inventory), idle and online,
//     as the npm bin runs it (TypeScript compiled at start by tsx's loader,
//     which keeps a loader thread) and as one prebuilt JS file (esbuild
//     bundle of agent/cli.ts, node_modules left external), which is how a
//     device image would ship it;
//   - `fleet-agent sim --devices 1`, idle and online, then while it takes a
//     signed rootfs update of IMAGE_MIB (download, install, reboot, commit).
// Prints JSON.
//
//   npx tsx bench/agent-rss.ts [IMAGE_MIB]      (default 256)
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleUsage } from '../tests/support/proc-usage';
import { repoRoot, startProgram, waitFor, type Program } from '../tests/support/processes';
import { createDeployment } from '../tests/support/update-fixture';
import { measureWhile, mib, note, pollDeployment, round, startUpdateBench, type UpdateBench } from './update-bench';

const imageMiB = Number(process.argv[2] ?? 256);
const settleMs = Number(process.env.BENCH_SETTLE_MS ?? 10_000);
const sampleMs = Number(process.env.BENCH_SAMPLE_MS ?? 20_000);
if (!(imageMiB > 0)) throw new Error('usage: tsx bench/agent-rss.ts [IMAGE_MIB]');

/** RSS once the process has been online and quiet for a while. */
async function idle(pid: number): Promise<{ rssMiB: number; rssPeakMiB: number; cpuCores: number }> {
  await new Promise((r) => setTimeout(r, settleMs));
  const s = await sampleUsage(pid, sampleMs);
  return { rssMiB: mib(s.rssEnd), rssPeakMiB: mib(s.rssPeak), cpuCores: round(s.cpuCores, 4) };
}

/** `fleet-agent run` with its own state folder, accepted and online; `bundle` runs the prebuilt JS instead of the bin. */
async function realAgent(bench: UpdateBench, name: string, bundle?: string): Promise<{ pid: number; stop(): Promise<unknown> }> {
  const config = join(bench.work, `${name}.json`);
  writeFileSync(join(bench.work, 'hub.crt'), bench.hub.certPem);
  writeFileSync(config, JSON.stringify({ hub: bench.hub.address, ca: 'hub.crt', stateDir: join(bench.work, `${name}-state`), deviceType: 'bench-board', trustedArtifactKeys: [bench.keyFile] }));
  const before = new Set((await bench.operator.allDevices()).map((d) => d.id));
  let agent: Program | { pid: number; stop(): Promise<unknown> };
  if (bundle) {
    const child = spawn(process.execPath, [bundle, 'run', '--config', config], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    agent = { pid: child.pid!, stop: () => (child.kill('SIGTERM'), exited) };
  } else {
    agent = startProgram('fleet-agent', ['run', '--config', config]);
  }
  const mine = async () => (await bench.operator.allDevices()).find((d) => !before.has(d.id));
  await waitFor(`${name} to enroll`, mine, 60_000, 200);
  await bench.operator.acceptAllPending();
  await waitFor(`${name} online`, async () => (await mine())?.online, 60_000, 200);
  return 'child' in agent ? { pid: agent.child.pid!, stop: agent.stop } : agent;
}

/**
 * agent/cli.ts bundled into one JS file in dist/ (git-ignored): one level
 * below the repo root, so node_modules and the agent's ../package.json
 * (its version) resolve as they do for agent/*.ts.
 */
function bundleAgent(): { file: string; remove(): void } {
  mkdirSync(join(repoRoot, 'dist'), { recursive: true });
  const file = join(repoRoot, 'dist', `bench-fleet-agent-${process.pid}.mjs`);
  execFileSync(join(repoRoot, 'node_modules', '.bin', 'esbuild'), ['agent/cli.ts', '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external', `--outfile=${file}`, '--log-level=warning'], { cwd: repoRoot });
  return { file, remove: () => rmSync(file, { force: true }) };
}

const bench = await startUpdateBench();
try {
  note('fleet-agent run: idle');
  const agent = await realAgent(bench, 'agent');
  const runIdle = await idle(agent.pid);
  await agent.stop();

  note('fleet-agent run, prebuilt bundle: idle');
  const bundle = bundleAgent();
  let builtIdle: Awaited<ReturnType<typeof idle>>;
  try {
    const built = await realAgent(bench, 'built-agent', bundle.file);
    builtIdle = await idle(built.pid);
    await built.stop();
  } finally {
    bundle.remove();
  }

  note('fleet-agent sim --devices 1: idle');
  const { artifact } = await bench.artifact('2.0.0', imageMiB * 1024 * 1024);
  const sim = await bench.startSims(1);
  const simIdle = await idle(sim.child.pid!);
  const device = (await bench.operator.allDevices()).find((d) => d.identity.device_type === 'sim-device')!;

  note(`fleet-agent sim --devices 1: installing ${imageMiB} MiB`);
  const install = await measureWhile(sim.child.pid!, async () => {
    const t0 = performance.now();
    const d = await createDeployment(bench.operator, { artifactId: artifact.id, deviceIds: [device.id] });
    const end = await pollDeployment(bench.operator, d.id, (x) => x.deployment!.status !== 'active', 600_000, 200);
    if (end.devices[0].status !== 'success') throw new Error(`the update ended ${end.devices[0].status}: ${end.devices[0].reason}`);
    return performance.now() - t0;
  });
  const simAfter = await idle(sim.child.pid!);

  console.log(
    JSON.stringify(
      {
        benchmark: 'agent-rss',
        targetIdleMiB: 60,
        settleMs,
        sampleMs,
        run: { what: 'fleet-agent run (npm bin: tsx compiles the TypeScript at start), one device, online, idle', idle: runIdle },
        runPrebuilt: { what: 'the same agent as one esbuild bundle run by node (no tsx loader)', idle: builtIdle },
        sim: {
          what: 'fleet-agent sim --devices 1',
          idle: simIdle,
          installing: { imageMiB, updateMs: Math.round(install.result), rssPeakMiB: mib(install.rssPeak), cpuSeconds: round(install.cpuSeconds) },
          idleAfterUpdate: simAfter,
        },
      },
      null,
      2,
    ),
  );
} finally {
  await bench.close();
}
