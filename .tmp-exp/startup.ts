import { startRemoteSim } from '../cli/testing/remote-sim';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
const sim = await startRemoteSim({});
const f = join(sim.work, 'tiny.txt');
writeFileSync(f, 'x');
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/cpuprof-tiny', process.env.FC ?? '/work/main/bin/fleetctl.js', 'cp', f, `${sim.deviceIds[0]}:${sim.filesRoot}/t${i}.txt`, ...sim.flags], { encoding: 'utf8' });
  console.log('cp tiny', Math.round(performance.now() - t0), 'ms', r.status, r.stderr.slice(0, 200));
  const t1 = performance.now();
  spawnSync(process.execPath, ['/work/main/bin/fleetctl.js', '--help']);
  console.log('help', Math.round(performance.now() - t1), 'ms');
}
await sim.close();
