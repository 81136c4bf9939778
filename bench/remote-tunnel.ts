// Tunnel throughput (issue #5): bytes pushed through `fleetctl port-forward`
// (a real fleetctl process listening on 127.0.0.1, one Channel per
// connection through a real fleet-hub process to a real `fleet-agent sim`
// process that connects to the sink) into a sink — against `ssh -N -L` to a
// throw-away OpenSSH sshd on 127.0.0.1 and the same sink, in the same run.
// Prints JSON.
//
//   npx tsx bench/remote-tunnel.ts [SIZE_MIB]        (default 1024)
//   BENCH_ROUNDS=N                                   (default 2)
//
// Timed from the client's connect until the sink has counted every byte.
import { spawn } from 'node:child_process';
import { startRemoteSim } from '../cli/testing/remote-sim';
import { procUsage } from '../tests/support/proc-usage';
import { freePort, waitFor } from '../tests/support/processes';
import { startTestSshd } from '../tests/support/sshd';
import { startFleetctlForward } from './fleetctl-forward';
import { canConnect, pushThrough, startSink } from './remote-sink';

const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
if (!(sizeMiB > 0) || !(rounds > 0)) throw new Error('usage: tsx bench/remote-tunnel.ts [SIZE_MIB] (BENCH_ROUNDS=N)');
const bytes = sizeMiB * 1024 * 1024;
const note = (s: string) => process.stderr.write(`bench: ${s}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const mbps = (ms: number) => round(bytes / 1e6 / (ms / 1000), 1);

const sink = await startSink();
const sim = await startRemoteSim();
const sshd = await startTestSshd();
const [device] = sim.deviceIds;
const forward = startFleetctlForward(device, sink.port, sim.flags);
const sshPort = await freePort();
const ssh = spawn('ssh', ['-N', ...sshd.sshOptions(), '-o', 'ExitOnForwardFailure=yes', '-p', String(sshd.port), '-L', `${sshPort}:127.0.0.1:${sink.port}`, `${sshd.username}@127.0.0.1`], { stdio: 'ignore' });
const stopAll = async () => {
  ssh.kill('SIGTERM');
  forward.stop();
  sink.close();
  await sshd.stop();
  await sim.close();
};
const watchdog = setTimeout(() => {
  note('no result within 15 minutes; giving up');
  void stopAll().finally(() => process.exit(1));
}, 900_000);
try {
  const localPort = await forward.listening();
  await waitFor('ssh -L to listen', () => canConnect(sshPort), 10_000, 100);
  const ours: { ms: number; hubCpuSeconds: number; agentCpuSeconds: number; fleetctlCpuSeconds: number }[] = [];
  const theirs: number[] = [];
  for (let run = 1; run <= rounds; run++) {
    note(`round ${run}: ssh -L`);
    theirs.push(await pushThrough(sink, sshPort, bytes));
    note(`round ${run}: fleetctl port-forward`);
    const pids = [sim.hub.child.pid!, sim.sim.child.pid!, forward.child.pid!];
    const cpu0 = pids.map((p) => procUsage(p).cpuSeconds);
    const ms = await pushThrough(sink, localPort, bytes);
    const cpu = pids.map((p, i) => round(procUsage(p).cpuSeconds - cpu0[i]));
    ours.push({ ms, hubCpuSeconds: cpu[0], agentCpuSeconds: cpu[1], fleetctlCpuSeconds: cpu[2] });
  }
  const best = (xs: number[]) => Math.min(...xs);
  const oursBest = best(ours.map((r) => r.ms));
  console.log(
    JSON.stringify(
      {
        benchmark: 'remote-tunnel',
        bytes,
        rounds,
        fleetctlPortForward: {
          what: 'client -> fleetctl port-forward (127.0.0.1) -> fleet-hub Channel relay (TLS) -> fleet-agent sim -> sink, one connection',
          bestMBps: mbps(oursBest),
          runs: ours.map((r) => ({ MBps: mbps(r.ms), ms: Math.round(r.ms), hubCpuSeconds: r.hubCpuSeconds, agentCpuSeconds: r.agentCpuSeconds, fleetctlCpuSeconds: r.fleetctlCpuSeconds })),
        },
        sshL: { what: 'ssh -N -L to a local OpenSSH sshd, same sink', bestMBps: mbps(best(theirs)), runs: theirs.map((ms) => ({ MBps: mbps(ms), ms: Math.round(ms) })) },
        // > 1 means faster than ssh -L; the target is >= 1.0
        ratioVsSshL: round(best(theirs) / oursBest),
      },
      null,
      2,
    ),
  );
} finally {
  clearTimeout(watchdog);
  await stopAll();
}
