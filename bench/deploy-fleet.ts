// Deploying to a fleet (issue #3): a small signed rootfs artifact to N
// simulated devices (default 1,000, all in one real `fleet-agent sim`
// process) through a real fleet-hub process, as one deployment to a static
// group. Every device downloads, installs into its B slot, reboots, passes
// its health check and commits. Measures the time until the deployment is
// finished (all success), hub CPU and peak RSS over that time, and the
// simulator's. Prints JSON.
//
//   npx tsx bench/deploy-fleet.ts [N] [IMAGE_KIB]      (default 1000 256)
import { statSync } from 'node:fs';
import { unary } from '../src-main/services/hub-client/hub-connection';
import { procUsage } from '../tests/support/proc-usage';
import { createDeployment } from '../tests/support/update-fixture';
import { measureWhile, mib, note, pollDeployment, round, startUpdateBench } from './update-bench';

const n = Number(process.argv[2] ?? 1000);
const imageKiB = Number(process.argv[3] ?? 256);
if (!(n > 0) || !(imageKiB > 0)) throw new Error('usage: tsx bench/deploy-fleet.ts [N] [IMAGE_KIB]');

const bench = await startUpdateBench();
try {
  const { artifact, file } = await bench.artifact('2.0.0', imageKiB * 1024);
  note(`starting ${n} simulated devices`);
  const sim = await bench.startSims(n);
  const ids = (await bench.operator.allDevices()).map((d) => d.id);
  await unary(bench.operator.client, bench.operator.client.setGroupMembers, { name: 'fleet', add: ids, remove: [] }, bench.operator.token, 120_000);
  const hubIdle = procUsage(bench.hub.child.pid!).rss;

  note(`deploying ${artifact.name} ${artifact.version} (${statSync(file).size} bytes) to ${n} devices`);
  const simCpu0 = procUsage(sim.child.pid!).cpuSeconds;
  let simRssPeak = 0;
  const simSampler = setInterval(() => (simRssPeak = Math.max(simRssPeak, procUsage(sim.child.pid!).rss)), 500);
  const progress = setInterval(async () => {
    const d = await unary(bench.operator.client, bench.operator.client.listDeployments, { status: '', limit: 1 }, bench.operator.token).catch(() => undefined);
    if (d?.deployments[0]) note(JSON.stringify(d.deployments[0].counts));
  }, 5000);
  const t0 = performance.now();
  const run = await measureWhile(bench.hub.child.pid!, async () => {
    const deployment = await createDeployment(bench.operator, { artifactId: artifact.id, group: 'fleet' });
    const createdMs = performance.now() - t0;
    const end = await pollDeployment(bench.operator, deployment.id, (d) => d.deployment!.status !== 'active', 1_800_000, 1000);
    return { createdMs, end, totalMs: performance.now() - t0 };
  }).finally(() => {
    clearInterval(simSampler);
    clearInterval(progress);
  });
  const simCpuSeconds = procUsage(sim.child.pid!).cpuSeconds - simCpu0;
  const counts = run.result.end.deployment!.counts;
  if (counts.success !== n) throw new Error(`not every device succeeded: ${JSON.stringify(counts)}`);
  const finished = run.result.end.devices.map((d) => d.finishedMs - run.result.end.deployment!.createdMs).sort((a, b) => a - b);
  const pct = (p: number) => finished[Math.min(finished.length - 1, Math.floor((p / 100) * finished.length))];

  console.log(
    JSON.stringify(
      {
        benchmark: 'deploy-fleet',
        devices: n,
        artifactBytes: statSync(file).size,
        what: 'one deployment to a static group; every device: download, install into slot B, reboot (new agent, new TLS connection), health check, commit; all in one fleet-agent sim process',
        createDeploymentMs: Math.round(run.result.createdMs),
        allSuccessMs: Math.round(run.result.totalMs),
        deviceSuccessMs: { p50: pct(50), p90: pct(90), max: pct(100) },
        counts,
        hub: { cpuSeconds: round(run.cpuSeconds), cpuCoresAverage: round(run.cpuSeconds / (run.result.totalMs / 1000)), rssIdleMiB: mib(hubIdle), rssPeakMiB: mib(run.rssPeak) },
        simulator: { cpuSeconds: round(simCpuSeconds), rssPeakMiB: mib(simRssPeak) },
      },
      null,
      2,
    ),
  );
} finally {
  await bench.close();
}
