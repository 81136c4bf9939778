// Download throughput (issue #3): a 1 GiB signed rootfs artifact from a real
// fleet-hub process to a simulated device (a real `fleet-agent sim` process)
// over TLS, written to disk and verified (sha256 of the whole file against
// the artifact id) — against `scp` of the same file to a throw-away OpenSSH
// sshd on 127.0.0.1, in the same run, on the same disk. Prints JSON.
//
//   npx tsx bench/download-throughput.ts [SIZE_MIB]      (default 1024)
//
// The download is timed from the deployment's creation until the device
// reports `installing` (the download is complete and its hash checked);
// polled every 25 ms. The rest of the update (install into the slot,
// reboot, health check, commit) is reported separately.
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { procUsage } from '../tests/support/proc-usage';
import { createDeployment } from '../tests/support/update-fixture';
import { startLocalSshd } from './peer/local-sshd';
import { measureWhile, mib, note, pollDeployment, round, startUpdateBench } from './update-bench';

const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
if (!(sizeMiB > 0) || !(rounds > 0)) throw new Error('usage: tsx bench/download-throughput.ts [SIZE_MIB] (BENCH_ROUNDS=N)');

const AFTER_DOWNLOAD = new Set(['installing', 'rebooting', 'verifying', 'committing', 'success']);

const bench = await startUpdateBench();
const sshd = await startLocalSshd();
try {
  note(`making a ${sizeMiB} MiB artifact`);
  const { artifact, file } = await bench.artifact('2.0.0', sizeMiB * 1024 * 1024);
  const bytes = statSync(file).size;
  const sim = await bench.startSims(1);
  const [device] = await bench.operator.allDevices();

  const fleet: { downloadMs: number; toSuccessMs: number; downloadHubCpuSeconds: number; downloadAgentCpuSeconds: number; hubCpuSeconds: number; agentCpuSeconds: number; agentRssPeakMiB: number }[] = [];
  const scp: { ms: number; cpuSeconds: number; plusSha256Ms: number }[] = [];
  for (let run = 1; run <= rounds; run++) {
    note(`round ${run}: scp`);
    const dest = join(bench.work, 'scp-copy.fleet');
    const copied = await sshd.scp(file, dest);
    const t = performance.now();
    execFileSync('sha256sum', [dest]);
    scp.push({ ...copied, plusSha256Ms: copied.ms + (performance.now() - t) });
    rmSync(dest, { force: true });

    note(`round ${run}: hub -> agent`);
    const hubPid = bench.hub.child.pid!;
    const agentPid = sim.child.pid!;
    const hubCpu0 = procUsage(hubPid).cpuSeconds;
    const measured = await measureWhile(agentPid, async () => {
      const agentCpu0 = procUsage(agentPid).cpuSeconds;
      const t0 = performance.now();
      // Round 2 and later install the same artifact again: force it.
      const deployment = await createDeployment(bench.operator, { artifactId: artifact.id, deviceIds: [device.id], force: run > 1 });
      await pollDeployment(bench.operator, deployment.id, (d) => AFTER_DOWNLOAD.has(d.devices[0]?.status ?? ''), 600_000);
      const downloadMs = performance.now() - t0;
      const download = { hubCpuSeconds: procUsage(hubPid).cpuSeconds - hubCpu0, agentCpuSeconds: procUsage(agentPid).cpuSeconds - agentCpu0 };
      const end = await pollDeployment(bench.operator, deployment.id, (d) => d.deployment!.status !== 'active', 600_000, 200);
      if (end.devices[0].status !== 'success') throw new Error(`the update ended ${end.devices[0].status}: ${end.devices[0].reason}`);
      return { downloadMs, toSuccessMs: performance.now() - t0, download };
    });
    const hubCpuSeconds = procUsage(hubPid).cpuSeconds - hubCpu0;
    const { download, ...times } = measured.result;
    fleet.push({
      ...times,
      downloadHubCpuSeconds: round(download.hubCpuSeconds),
      downloadAgentCpuSeconds: round(download.agentCpuSeconds),
      hubCpuSeconds: round(hubCpuSeconds),
      agentCpuSeconds: round(measured.cpuSeconds),
      agentRssPeakMiB: mib(measured.rssPeak),
    });
  }

  const mbps = (ms: number) => round(bytes / 1e6 / (ms / 1000), 1);
  const perGiB = (seconds: number) => round(seconds / (bytes / 2 ** 30), 1);
  const best = (xs: number[]) => Math.min(...xs);
  const fleetBest = best(fleet.map((f) => f.downloadMs));
  const scpBest = best(scp.map((s) => s.ms));
  console.log(
    JSON.stringify(
      {
        benchmark: 'download-throughput',
        artifactBytes: bytes,
        rounds,
        hubToAgent: {
          what: 'fleet-hub -> fleet-agent sim over TLS (the artifact stream: bare bytes on the hub port, 1 MiB credit), written to disk, sha256 checked; time until the device reports installing',
          bestMBps: mbps(fleetBest),
          runs: fleet.map((f) => ({
            downloadMBps: mbps(f.downloadMs),
            downloadMs: Math.round(f.downloadMs),
            // CPU of the download alone, per GiB (1 GiB = 2^30 bytes), then of the whole update
            downloadCpuSecondsPerGiB: { hub: perGiB(f.downloadHubCpuSeconds), agent: perGiB(f.downloadAgentCpuSeconds) },
            toSuccessMs: Math.round(f.toSuccessMs),
            hubCpuSeconds: f.hubCpuSeconds,
            agentCpuSeconds: f.agentCpuSeconds,
            agentRssPeakMiB: f.agentRssPeakMiB,
          })),
        },
        scp: {
          what: `scp to a local sshd on 127.0.0.1 (${spawnSync('ssh', ['-V']).stderr.toString().trim()}), same file, same disk; CPU is scp + ssh + the sshd session; withSha256 adds sha256sum of the copy`,
          bestMBps: mbps(scpBest),
          runs: scp.map((s) => ({ MBps: mbps(s.ms), ms: Math.round(s.ms), cpuSecondsPerGiB: perGiB(s.cpuSeconds), withSha256MBps: mbps(s.plusSha256Ms) })),
        },
        ratio: { hubToAgentOverScp: round(scpBest / fleetBest) },
      },
      null,
      2,
    ),
  );
} finally {
  await sshd.stop();
  await bench.close();
}
