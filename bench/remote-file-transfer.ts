// Remote file transfer (issue #5): `fleetctl cp FILE DEVICE:PATH`, a real
// fleetctl process -> a real fleet-hub process -> a real `fleet-agent sim`
// process (remote file transfer enabled), written on the device side and
// verified (the device checks the sha256 of the whole file before renaming
// it into place and answers its own, which fleetctl compares) — against
// `scp` of the same file to a throw-away OpenSSH sshd on 127.0.0.1, in the
// same run, on the same disk. Prints JSON.
//
//   npx tsx bench/remote-file-transfer.ts [SIZE_MIB]     (default 1024)
//   BENCH_ROUNDS=N                                      (default 2)
//
// fleetctl is timed from its start (process start, TLS, channel set-up
// included) until it exits; scp likewise.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startRemoteSim } from '../cli/testing/remote-sim';
import { sha256File } from '../proto/file-sha256';
import { procUsage } from '../tests/support/proc-usage';
import { repoRoot } from '../tests/support/processes';
import { startLocalSshd } from './peer/local-sshd';
import { writeRandomFile } from './peer/random-file';

const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
if (!(sizeMiB > 0) || !(rounds > 0)) throw new Error('usage: tsx bench/remote-file-transfer.ts [SIZE_MIB] (BENCH_ROUNDS=N)');
const bytes = sizeMiB * 1024 * 1024;
const note = (s: string) => process.stderr.write(`bench: ${s}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const mbps = (ms: number) => round(bytes / 1e6 / (ms / 1000), 1);

/** CPU seconds of the children this process has reaped (Linux /proc: cutime + cstime). */
function reapedChildrenCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** Runs fleetctl to the end; wall time and its own CPU (user + system of the reaped child). */
function fleetctl(args: string[]): Promise<{ ms: number; cpuSeconds: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const cpu0 = reapedChildrenCpu();
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve({ ms: performance.now() - t0, cpuSeconds: reapedChildrenCpu() - cpu0, stderr }) : reject(new Error(`fleetctl ${args[0]} exited ${code}: ${stderr}`))));
  });
}

const sim = await startRemoteSim({ maxFileBytes: bytes * 2 });
const sshd = await startLocalSshd();
const watchdog = setTimeout(() => {
  note('no result within 20 minutes; giving up');
  void Promise.allSettled([sshd.stop(), sim.close()]).finally(() => process.exit(1));
}, 1_200_000);
try {
  note(`making a ${sizeMiB} MiB file of random bytes`);
  const file = join(sim.work, 'payload.bin');
  const sourceSha = await writeRandomFile(file, bytes);
  const [device] = sim.deviceIds;

  const ours: { ms: number; hubCpuSeconds: number; agentCpuSeconds: number; fleetctlCpuSeconds: number }[] = [];
  const scp: { ms: number; cpuSeconds: number }[] = [];
  for (let run = 1; run <= rounds; run++) {
    note(`round ${run}: scp`);
    const scpDest = join(sim.work, 'scp-copy.bin');
    scp.push(await sshd.scp(file, scpDest));
    rmSync(scpDest, { force: true });

    note(`round ${run}: fleetctl cp -> hub -> device`);
    const hub0 = procUsage(sim.hub.child.pid!).cpuSeconds;
    const agent0 = procUsage(sim.sim.child.pid!).cpuSeconds;
    const { ms, cpuSeconds } = await fleetctl(['cp', file, `${device}:${sim.filesRoot}/copy-${run}.bin`, ...sim.flags]);
    ours.push({ ms, fleetctlCpuSeconds: round(cpuSeconds), hubCpuSeconds: round(procUsage(sim.hub.child.pid!).cpuSeconds - hub0), agentCpuSeconds: round(procUsage(sim.sim.child.pid!).cpuSeconds - agent0) });
    const landed = join(sim.filesRoot, `copy-${run}.bin`);
    const landedSha = await sha256File(landed);
    if (landedSha !== sourceSha) throw new Error(`the device's copy hashes to ${landedSha}, the source to ${sourceSha}`);
    rmSync(landed);
  }
  const best = (xs: number[]) => Math.min(...xs);
  const oursBest = best(ours.map((r) => r.ms));
  const scpBest = best(scp.map((r) => r.ms));
  console.log(
    JSON.stringify(
      {
        benchmark: 'remote-file-transfer',
        bytes,
        rounds,
        fleetctlCp: {
          what: 'fleetctl cp FILE DEVICE:PATH: fleetctl process -> fleet-hub (TLS gRPC Channel relay) -> fleet-agent sim (dialled-back Channel), temp file + sha256 check + fsync + rename on the device; process start to exit',
          bestMBps: mbps(oursBest),
          runs: ours.map((r) => ({ MBps: mbps(r.ms), ms: Math.round(r.ms), fleetctlCpuSeconds: r.fleetctlCpuSeconds, hubCpuSeconds: r.hubCpuSeconds, agentCpuSeconds: r.agentCpuSeconds })),
        },
        scp: {
          what: `scp to a local sshd on 127.0.0.1 (${spawnSync('ssh', ['-V']).stderr.toString().trim()}), same file, same disk; CPU is scp + ssh + the sshd session`,
          bestMBps: mbps(scpBest),
          runs: scp.map((r) => ({ MBps: mbps(r.ms), ms: Math.round(r.ms), cpuSeconds: round(r.cpuSeconds) })),
        },
        // > 1 means faster than scp; the target is >= 1.0
        ratioVsScp: round(scpBest / oursBest),
      },
      null,
      2,
    ),
  );
} finally {
  clearTimeout(watchdog);
  await sshd.stop();
  await sim.close();
}
