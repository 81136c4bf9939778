// Agent memory (issue #3; target: under 60 MiB idle). Resident set size of
// one agent process with one device against a real fleet-hub process:
//   - `fleet-agent run` (the real agent, real inventory), idle and online;
//   - `fleet-agent sim --devices 1`, idle and online, then while it takes a
//     signed rootfs update of IMAGE_MIB (download, install, reboot, commit).
// Prints JSON.
//
//   npx tsx bench/agent-rss.ts [IMAGE_MIB]      (default 256)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleUsage } from '../tests/support/proc-usage';
import { startProgram, waitFor, type Program } from '../tests/support/processes';
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

async function realAgent(bench: UpdateBench): Promise<Program> {
  const config = join(bench.work, 'agent.json');
  writeFileSync(join(bench.work, 'hub.crt'), bench.hub.certPem);
  writeFileSync(config, JSON.stringify({ hub: bench.hub.address, ca: 'hub.crt', stateDir: join(bench.work, 'agent-state'), deviceType: 'bench-board', trustedArtifactKeys: [bench.keyFile] }));
  const agent = startProgram('fleet-agent', ['run', '--config', config]);
  await waitFor('the real agent to enroll', async () => (await bench.operator.allDevices()).length === 1, 60_000, 200);
  await bench.operator.acceptAllPending();
  await waitFor('the real agent online', async () => (await bench.operator.allDevices())[0].online, 60_000, 200);
  return agent;
}

const bench = await startUpdateBench();
try {
  note('fleet-agent run: idle');
  const agent = await realAgent(bench);
  const runIdle = await idle(agent.child.pid!);
  await agent.stop();

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
        run: { what: 'fleet-agent run, one device, online, idle', idle: runIdle },
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
