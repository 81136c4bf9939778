// Remote file transfer over a long link (issue #5): `fleetctl cp
// DEVICE:FILE LOCAL` and `fleetctl cp LOCAL DEVICE:PATH` through a proxy that holds each direction RTT/2
// (tests/support/delay-proxy.ts) in front of the hub — a real fleet-hub and a
// real `fleet-agent sim` — against `scp` of the same file from a
// throw-away OpenSSH sshd through the same kind of proxy, in the same run,
// both ways.
// On a long link the receiver's flow-control window, not the CPU, sets the
// pace (at most one window per round trip): this is what a device on a
// cellular link or a hub on another continent feels. Prints JSON.
//
//   npx tsx bench/remote-long-link.ts [SIZE_MIB] [RTT_MS]    (default 256, 50)
//   BENCH_ROUNDS=N                                               (default 2)
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startRemoteSim } from '../cli/testing/remote-sim';
import { sha256File } from '../proto/file-sha256';
import { repoRoot } from '../tests/support/processes';
import { startDelayProxy } from '../tests/support/delay-proxy';
import { startLocalSshd } from './peer/local-sshd';
import { writeRandomFile } from './peer/random-file';

const sizeMiB = Number(process.argv[2] ?? 256);
const rttMs = Number(process.argv[3] ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
if (!(sizeMiB > 0) || !(rttMs >= 0) || !(rounds > 0)) throw new Error('usage: tsx bench/remote-long-link.ts [SIZE_MIB] [RTT_MS] (BENCH_ROUNDS=N)');
const bytes = sizeMiB * 1024 * 1024;
const note = (s: string) => process.stderr.write(`bench: ${s}\n`);
const mbps = (ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;

function fleetctl(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`fleetctl ${args[0]} exited ${code}: ${stderr}`))));
  });
}

const sim = await startRemoteSim({ maxFileBytes: bytes * 2 });
const sshd = await startLocalSshd();
const hubProxy = await startDelayProxy(sim.hubPort, rttMs / 2);
const sshProxy = await startDelayProxy(sshd.port, rttMs / 2);
const watchdog = setTimeout(() => {
  note('no result within 20 minutes; giving up');
  process.exit(1);
}, 1_200_000);
try {
  note(`making a ${sizeMiB} MiB file of random bytes on the device`);
  const file = join(sim.filesRoot, 'payload.bin');
  const sourceSha = await writeRandomFile(file, bytes);
  const [device] = sim.deviceIds;
  const flags = sim.flagsVia(`127.0.0.1:${hubProxy.port}`);

  const ours: number[] = [];
  const scp: number[] = [];
  const oursUp: number[] = [];
  const scpUp: number[] = [];
  const upSource = join(sim.work, 'upload-source.bin');
  for (let run = 1; run <= rounds; run++) {
    note(`round ${run}: scp from the sshd, RTT ${rttMs} ms`);
    const scpDest = join(sim.work, 'scp-copy.bin');
    scp.push((await sshd.scp(file, scpDest, { download: true, port: sshProxy.port })).ms);
    if ((await sha256File(scpDest)) !== sourceSha) throw new Error("scp's copy differs from the source");
    rmSync(scpDest, { force: true });

    note(`round ${run}: fleetctl cp DEVICE:FILE LOCAL through the hub, RTT ${rttMs} ms`);
    const dest = join(sim.work, `copy-${run}.bin`);
    ours.push(await fleetctl(['cp', `${device}:${file}`, dest, ...flags]));
    if ((await sha256File(dest)) !== sourceSha) throw new Error("fleetctl's copy differs from the source");
    rmSync(dest);

    note(`round ${run}: uploads, scp and fleetctl cp LOCAL DEVICE:PATH, RTT ${rttMs} ms`);
    // The payload again, as a local file (the device's copy is where it came from).
    const up = join(sim.work, 'scp-up.bin');
    scpUp.push((await sshd.scp(file, up, { port: sshProxy.port })).ms);
    rmSync(up, { force: true });
    if (run === 1) await fleetctl(['cp', `${device}:${file}`, upSource, ...sim.flags]);
    oursUp.push(await fleetctl(['cp', upSource, `${device}:${sim.filesRoot}/up-${run}.bin`, ...flags]));
    if ((await sha256File(join(sim.filesRoot, `up-${run}.bin`))) !== sourceSha) throw new Error("the device's upload differs from the source");
    rmSync(join(sim.filesRoot, `up-${run}.bin`));
  }
  const best = (xs: number[]) => Math.min(...xs);
  console.log(
    JSON.stringify(
      {
        benchmark: 'remote-long-link',
        bytes,
        rttMs,
        rounds,
        fleetctlCp: {
          what: 'fleetctl cp DEVICE:FILE LOCAL: fleet-agent sim -> fleet-hub -> (delay proxy) -> fleetctl, sha256 verified, fsynced; process start to exit',
          bestMBps: mbps(best(ours)),
          runsMBps: ours.map(mbps),
        },
        scp: {
          what: 'scp USER@127.0.0.1:FILE LOCAL from a local OpenSSH sshd through the same kind of delay proxy',
          bestMBps: mbps(best(scp)),
          runsMBps: scp.map(mbps),
        },
        // > 1 means faster than scp
        ratioVsScp: Math.round((best(scp) / best(ours)) * 100) / 100,
        upload: {
          fleetctlCp: { what: 'fleetctl cp LOCAL DEVICE:PATH through the delay proxy: the device grants 4 MiB', bestMBps: mbps(best(oursUp)), runsMBps: oursUp.map(mbps) },
          scp: { what: 'scp LOCAL USER@127.0.0.1:PATH through the same kind of delay proxy', bestMBps: mbps(best(scpUp)), runsMBps: scpUp.map(mbps) },
          ratioVsScp: Math.round((best(scpUp) / best(oursUp)) * 100) / 100,
        },
      },
      null,
      2,
    ),
  );
} finally {
  clearTimeout(watchdog);
  await Promise.allSettled([hubProxy.close(), sshProxy.close()]);
  await sshd.stop();
  await sim.close();
}
