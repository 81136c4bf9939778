// Direct-mode tunnel throughput (issue #5): bytes pushed through the
// console's SshTunnel (ssh2 forwardOut) into a sink behind a throw-away
// OpenSSH sshd on 127.0.0.1 — against `ssh -N -L` to the same sshd and the
// same sink, in the same run. Prints JSON.
//
//   npx tsx bench/direct-tunnel.ts [SIZE_MIB]        (default 1024)
//   BENCH_ROUNDS=N                                   (default 2)
//
// Timed from the client's connect until the sink has counted every byte.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { HostKeyStore } from '../src-main/services/direct/host-key-store';
import { SshConnection } from '../src-main/services/direct/ssh-connection';
import { SshTunnel } from '../src-main/services/direct/ssh-tunnel';
import { freePort, tempDir, waitFor } from '../tests/support/processes';
import { startTestSshd } from '../tests/support/sshd';
import { canConnect, pushThrough, startSink } from './remote-sink';

const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
if (!(sizeMiB > 0) || !(rounds > 0)) throw new Error('usage: tsx bench/direct-tunnel.ts [SIZE_MIB] (BENCH_ROUNDS=N)');
const bytes = sizeMiB * 1024 * 1024;
const note = (s: string) => process.stderr.write(`${s}\n`);
const mbps = (ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;

const sink = await startSink();

const work = tempDir('bench-direct-tunnel');
const sshd = await startTestSshd();
// A hung round must not hang the run, nor leave sshd behind.
const watchdog = setTimeout(() => {
  note('direct-tunnel bench: no result within 10 minutes; giving up');
  void sshd.stop().finally(() => process.exit(1));
}, 600_000);
const store = HostKeyStore.open(join(work.path, 'cache.db'));
try {
  const conn = await SshConnection.connect(
    { deviceId: 'bench', host: sshd.host, port: sshd.port, username: sshd.username, auth: { kind: 'key', privateKey: sshd.clientKeyPem } },
    { hostKeys: store },
  );
  const tunnel = await SshTunnel.open(conn, { remoteHost: '127.0.0.1', remotePort: sink.port });
  const sshPort = await freePort();
  const ssh = spawn('ssh', ['-N', ...sshd.sshOptions(), '-o', 'ExitOnForwardFailure=yes', '-p', String(sshd.port), '-L', `${sshPort}:127.0.0.1:${sink.port}`, `${sshd.username}@127.0.0.1`], { stdio: 'ignore' });
  try {
    await waitFor('ssh -L to listen', () => canConnect(sshPort), 10_000, 100);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let run = 1; run <= rounds; run++) {
      note(`round ${run}: ssh -L`);
      theirs.push(await pushThrough(sink, sshPort, bytes));
      note(`round ${run}: SshTunnel`);
      ours.push(await pushThrough(sink, tunnel.localPort, bytes));
    }
    const best = (xs: number[]) => Math.min(...xs);
    console.log(
      JSON.stringify(
        {
          bench: 'direct-tunnel',
          sizeMiB,
          rounds,
          sshL: { ms: theirs.map(Math.round), bestMBps: mbps(best(theirs)) },
          sshTunnel: { ms: ours.map(Math.round), bestMBps: mbps(best(ours)) },
          // > 1 means faster than ssh -L
          ratioVsSshL: Math.round((best(theirs) / best(ours)) * 100) / 100,
        },
        null,
        2,
      ),
    );
  } finally {
    ssh.kill('SIGTERM');
    await tunnel.close();
    conn.close();
  }
} finally {
  store.close();
  await sshd.stop();
  sink.close();
  work.remove();
  clearTimeout(watchdog);
}
