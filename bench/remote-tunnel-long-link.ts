// Tunnels over a long link (issue #5): `fleetctl port-forward` with a proxy
// that holds each direction RTT/2 (tests/support/delay-proxy.ts) between
// fleetctl and a real fleet-hub (a real `fleet-agent sim` behind it), against
// `ssh -N -L` to a throw-away OpenSSH sshd through the same kind of proxy,
// in the same run. Both directions: pulling N MiB from a device-side server
// (our receive window sets the pace: at most one window per round trip) and
// pushing N MiB into a device-side sink (the device's window). What a field
// engineer on a cellular link feels opening a device's web UI or copying a
// database dump through a tunnel. Prints JSON.
//
//   npx tsx bench/remote-tunnel-long-link.ts [SIZE_MIB] [RTT_MS]    (default 64, 50)
//   BENCH_ROUNDS=N                                                  (default 2)
import { spawn } from 'node:child_process';
import { startRemoteSim } from '../cli/testing/remote-sim';
import { startDelayProxy } from '../tests/support/delay-proxy';
import { freePort, waitFor } from '../tests/support/processes';
import { startTestSshd } from '../tests/support/sshd';
import { startFleetctlForward } from './fleetctl-forward';
import { canConnect, pullThrough, pushThrough, startSink, startSource } from './remote-sink';

const sizeMiB = Number(process.argv[2] ?? 64);
const rttMs = Number(process.argv[3] ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
if (!(sizeMiB > 0) || !(rttMs >= 0) || !(rounds > 0)) throw new Error('usage: tsx bench/remote-tunnel-long-link.ts [SIZE_MIB] [RTT_MS] (BENCH_ROUNDS=N)');
const bytes = sizeMiB * 1024 * 1024;
const note = (s: string) => process.stderr.write(`bench: ${s}\n`);
const mbps = (ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;

const sink = await startSink();
const source = await startSource(bytes);
const sim = await startRemoteSim();
const sshd = await startTestSshd();
const hubProxy = await startDelayProxy(sim.hubPort, rttMs / 2);
const sshProxy = await startDelayProxy(sshd.port, rttMs / 2);
const [device] = sim.deviceIds;
const flags = sim.flagsVia(`127.0.0.1:${hubProxy.port}`);
// One forwarder each way and one ssh with both forwards.
const forwards = [source.port, sink.port].map((port) => startFleetctlForward(device, port, flags));
const [sshPull, sshPush] = [await freePort(), await freePort()];
const ssh = spawn('ssh', ['-N', ...sshd.sshOptions(), '-o', 'ExitOnForwardFailure=yes', '-p', String(sshProxy.port), '-L', `${sshPull}:127.0.0.1:${source.port}`, '-L', `${sshPush}:127.0.0.1:${sink.port}`, `${sshd.username}@127.0.0.1`], { stdio: 'ignore' });
const stopAll = async () => {
  ssh.kill('SIGTERM');
  for (const f of forwards) f.stop();
  sink.close();
  source.close();
  await Promise.allSettled([hubProxy.close(), sshProxy.close()]);
  await sshd.stop();
  await sim.close();
};
const watchdog = setTimeout(() => {
  note('no result within 15 minutes; giving up');
  void stopAll().finally(() => process.exit(1));
}, 900_000);
try {
  const [ourPull, ourPush] = await Promise.all(forwards.map((f) => f.listening()));
  await waitFor('ssh -L to listen', async () => (await canConnect(sshPull)) && (await canConnect(sshPush)), 20_000, 100);
  const runs = { oursPull: [] as number[], sshPull: [] as number[], oursPush: [] as number[], sshPush: [] as number[] };
  for (let run = 1; run <= rounds; run++) {
    note(`round ${run}: pull ${sizeMiB} MiB, RTT ${rttMs} ms: ssh -L, then fleetctl port-forward`);
    runs.sshPull.push(await pullThrough(sshPull, bytes));
    runs.oursPull.push(await pullThrough(ourPull, bytes));
    note(`round ${run}: push ${sizeMiB} MiB, RTT ${rttMs} ms: ssh -L, then fleetctl port-forward`);
    runs.sshPush.push(await pushThrough(sink, sshPush, bytes));
    runs.oursPush.push(await pushThrough(sink, ourPush, bytes));
  }
  const best = (xs: number[]) => Math.min(...xs);
  const side = (ours: number[], theirs: number[]) => ({
    fleetctlPortForward: { bestMBps: mbps(best(ours)), runsMBps: ours.map(mbps) },
    sshL: { bestMBps: mbps(best(theirs)), runsMBps: theirs.map(mbps) },
    // > 1 means faster than ssh -L
    ratioVsSshL: Math.round((best(theirs) / best(ours)) * 100) / 100,
  });
  console.log(
    JSON.stringify(
      {
        benchmark: 'remote-tunnel-long-link',
        bytes,
        rttMs,
        rounds,
        what: 'one connection each; timed from connect until every byte arrived; fleetctl -> (delay proxy) -> fleet-hub -> fleet-agent sim, ssh -> (delay proxy) -> sshd',
        pullFromDevice: side(runs.oursPull, runs.sshPull),
        pushToDevice: side(runs.oursPush, runs.sshPush),
      },
      null,
      2,
    ),
  );
} finally {
  clearTimeout(watchdog);
  await stopAll();
}
