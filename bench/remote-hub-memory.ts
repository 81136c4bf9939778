// Hub memory under remote-session load (issue #5): a real fleet-hub process
// relaying 100 concurrent interactive shells (10 simulated devices x 10, a
// real pty each, every shell printing ~45 KB/s) and 20 concurrent tunnel
// connections each pushing data as fast as they can into a sink on the
// device side; this process is the console (it reads every byte and grants
// credit as it consumes). Hub RSS is sampled from /proc before, during and
// after. Prints JSON.
//
//   npx tsx bench/remote-hub-memory.ts [SHELLS] [TUNNELS] [SECONDS]   (default 100 20 20)
import { connect } from 'node:net';
import { openChannel, type RemoteChannel } from '../cli/remote/channel-client';
import { startForward } from '../cli/remote/tcp-forward';
import { startRemoteSim } from '../cli/testing/remote-sim';
import { procUsage } from '../tests/support/proc-usage';
import { startSink } from './remote-sink';

const shells = Number(process.argv[2] ?? 100);
const tunnels = Number(process.argv[3] ?? 20);
const seconds = Number(process.argv[4] ?? 20);
const note = (s: string) => process.stderr.write(`bench: ${s}\n`);
const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
const perDevice = 10;
const devices = Math.max(1, Math.ceil(shells / perDevice));

async function sample(pid: number, ms: number): Promise<{ peak: number; end: number; cpuCores: number }> {
  const c0 = procUsage(pid).cpuSeconds;
  const t0 = Date.now();
  let peak = 0;
  while (Date.now() - t0 < ms) {
    peak = Math.max(peak, procUsage(pid).rss);
    await new Promise((r) => setTimeout(r, 250));
  }
  const end = procUsage(pid);
  return { peak: Math.max(peak, end.rss), end: end.rss, cpuCores: Math.round(((end.cpuSeconds - c0) / ((Date.now() - t0) / 1000)) * 100) / 100 };
}

const sink = await startSink();
const sim = await startRemoteSim({ devices, maxSessions: perDevice + 2 });
const hubPid = sim.hub.child.pid!;
try {
  const idle = await sample(hubPid, 3000);
  note(`hub idle with ${devices} devices: ${mib(idle.end)} MiB`);

  let shellBytes = 0;
  const open: RemoteChannel[] = [];
  for (let i = 0; i < shells; i++) {
    const device = sim.deviceIds[i % devices];
    const ch = await openChannel(sim.link, device, { kind: { $case: 'shell', shell: { operator: '', cols: 120, rows: 40 } } }, { windowBytes: 256 * 1024 });
    ch.onFrame((f) => {
      if (f.$case !== 'data') return;
      shellBytes += f.data.byteLength;
      ch.consumed(f.data.byteLength);
    });
    void ch.write(Buffer.from('while :; do seq 1 2000; sleep 0.2; done\n'));
    open.push(ch);
  }
  note(`${shells} shells printing`);
  const forwarder = await startForward(sim.link, sim.deviceIds[0], { localPort: 0, host: '127.0.0.1', port: sink.port }, (line) => note(line));
  const chunk = Buffer.alloc(64 * 1024, 1);
  const sockets = Array.from({ length: tunnels }, () => {
    const s = connect(forwarder.port, '127.0.0.1');
    const pump = (): void => {
      while (!s.destroyed && s.write(chunk));
      if (!s.destroyed) s.once('drain', pump);
    };
    s.on('connect', pump);
    s.on('error', () => undefined);
    return s;
  });
  note(`${tunnels} tunnel connections pushing`);
  await new Promise((r) => setTimeout(r, 2000));
  const shell0 = shellBytes;
  const sink0 = sink.total;
  const loaded = await sample(hubPid, seconds * 1000);
  const moved = { shellOutputMB: Math.round((shellBytes - shell0) / 1e5) / 10, tunnelMB: Math.round((sink.total - sink0) / 1e5) / 10 };
  note(`under load: hub peak ${mib(loaded.peak)} MiB; moved ${JSON.stringify(moved)}`);

  for (const s of sockets) s.destroy();
  await forwarder.close();
  for (const ch of open) ch.close('bench done');
  await new Promise((r) => setTimeout(r, 3000));
  const after = await sample(hubPid, 2000);
  console.log(
    JSON.stringify(
      {
        benchmark: 'remote-hub-memory',
        devices,
        shells,
        tunnels,
        loadSeconds: seconds,
        hubRssMiB: { idle: mib(idle.end), underLoadPeak: mib(loaded.peak), underLoadEnd: mib(loaded.end), afterClose: mib(after.end) },
        hubCpuCoresUnderLoad: loaded.cpuCores,
        movedDuringSample: { ...moved, shellMBps: Math.round((moved.shellOutputMB / seconds) * 10) / 10, tunnelMBps: Math.round((moved.tunnelMB / seconds) * 10) / 10 },
      },
      null,
      2,
    ),
  );
} finally {
  sink.close();
  await sim.close();
}
