// Hub capacity benchmark (issue #2): N simulated devices, each on its own TLS
// connection, heartbeat every 30 s. Measures the time until all are online
// (first enrollment, and a reconnect of the whole fleet), hub RSS and CPU when
// steady, and prints JSON. Not a test: figures go to docs/benchmarks.md.
//
//   npx tsx bench/hub-capacity.ts [N ...]        (default: 1000 10000)
//
// The same-run peer is a bare grpc-js TLS server holding the same number of
// idle bidi streams from the same kind of client (bench/peer/): the ratio
// shows what the hub adds on top of grpc-js itself.
import { join } from 'node:path';
import { freePort, startHubProgram, startProgram, tempDir, waitFor } from '../tests/support/processes';
import { Operator } from '../tests/support/operator';
import { procUsage, sampleUsage } from '../tests/support/proc-usage';
import { AdmissionStatus } from '../proto/gen/fleet/v1/common';
import { unary } from '../src-main/services/hub-client/hub-connection';
import { FleetTally } from './fleet-tally';
import { measureBaseline } from './peer/grpc-baseline';

const steadyMs = Number(process.env.BENCH_STEADY_MS ?? 30_000);
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);

async function measureHub(n: number) {
  const hubDir = tempDir('bench-hub');
  const simDir = tempDir('bench-sim');
  const port = await freePort();
  const hub = await startHubProgram(hubDir.path, port);
  const operator = new Operator(hub.address, hub.adminToken, hub.certPem);
  const simArgs = ['sim', '--hub', hub.address, '--ca', join(hubDir.path, 'hub.crt'), '--devices', String(n), '--state', simDir.path];
  // Counted from the Watch feed: probing costs the hub nothing per device.
  const tally = new FleetTally(operator.client, hub.adminToken);
  const hubCpu = () => procUsage(hub.child.pid!).cpuSeconds;
  let sim: ReturnType<typeof startProgram> | undefined;
  // Progress on stderr: where a slow phase spends its time.
  const progress = setInterval(() => {
    const u = procUsage(hub.child.pid!);
    console.error(`bench: ${n} devices: ${tally.total} known, ${tally.count('pending')} pending, ${tally.count('online')} online; hub RSS ${mib(u.rss)} MiB, CPU ${u.cpuSeconds.toFixed(1)} s`);
  }, 5000);
  try {
    // First boot of the fleet: keys made, enrollment, operator acceptance.
    const t0 = Date.now();
    sim = startProgram('fleet-agent', simArgs);
    await waitFor(`${n} enrolled`, () => tally.total === n, 600_000, 100);
    const enrolledMs = Date.now() - t0;
    // One bulk admission, as a factory operator would do it; 10,000 devices
    // in one transaction may take longer than the usual 15 s call deadline.
    await unary(operator.client, operator.client.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [], filter: { status: AdmissionStatus.ADMISSION_STATUS_PENDING, attributes: {}, text: '' } }, hub.adminToken, 120_000);
    await waitFor(`${n} online`, () => tally.count('online') === n, 600_000, 100);
    const firstOnlineMs = Date.now() - t0;

    // Whole fleet reconnects (e.g. after a hub or network outage).
    await sim.stop();
    await waitFor('all offline', () => tally.count('online') === 0, 120_000, 100);
    const t1 = Date.now();
    const cpu1 = hubCpu();
    sim = startProgram('fleet-agent', simArgs);
    await waitFor(`${n} online again`, () => tally.count('online') === n, 600_000, 100);
    const reconnectMs = Date.now() - t1;
    const reconnectCpuSeconds = hubCpu() - cpu1;

    const steady = await sampleUsage(hub.child.pid!, steadyMs);
    const simRss = procUsage(sim.child.pid!).rss;
    await sim.stop();
    return {
      enrolledMs,
      firstOnlineMs,
      reconnectMs,
      reconnectHubCpuSeconds: round(reconnectCpuSeconds),
      steadyCpuCores: round(steady.cpuCores),
      rssMiB: mib(steady.rssEnd),
      rssPeakMiB: mib(steady.rssPeak),
      simulatorRssMiB: mib(simRss),
    };
  } catch (err) {
    console.error(`bench: failed: ${(err as Error).message}\n--- hub output (tail):\n${hub.output().slice(-3000)}\n--- simulator output (tail):\n${sim?.output().slice(-3000)}`);
    throw err;
  } finally {
    clearInterval(progress);
    await sim?.stop();
    tally.close();
    operator.close();
    await hub.stop();
    hubDir.remove();
    simDir.remove();
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const mib = (bytes: number) => Math.round(bytes / 1048576);

const results = [];
for (const n of sizes.length ? sizes : [1000, 10000]) {
  const hub = await measureHub(n);
  const peer = await measureBaseline(n, steadyMs);
  results.push({
    devices: n,
    hub,
    peer: { what: 'bare grpc-js TLS server, one idle bidi stream per connection', ...peer },
    ratio: { rss: round(hub.rssMiB / peer.rssMiB), connectTime: round(hub.reconnectMs / peer.connectMs) },
  });
  console.error(`done: ${n} devices`);
}
console.log(JSON.stringify({ benchmark: 'hub-capacity', heartbeatSeconds: 30, steadySampleMs: steadyMs, results }, null, 2));
