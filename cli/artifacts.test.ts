import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFleetctl, type FleetctlRun } from './testing/run-fleetctl';
import { freePort, repoRoot, startHubProgram, tempDir, type HubProgram } from '../tests/support/processes';

// End to end: artifacts made by the real bin/fleet-artifact.js, uploaded and
// listed by the real bin/fleetctl.js against a real fleet-hub process.

const dirs = { hub: tempDir('fleetctl-art-hub'), work: tempDir('fleetctl-art-work') };
let hub: HubProgram;
let flags: string[];
let signed: string;

function fleetctl(args: string[]): Promise<FleetctlRun> {
  return runFleetctl(args, join(dirs.work.path, 'config.json'));
}

function fleetArtifact(args: string[]): void {
  execFileSync(process.execPath, [join(repoRoot, 'bin', 'fleet-artifact.js'), ...args], { cwd: repoRoot, stdio: 'pipe', timeout: 30_000 });
}

beforeAll(async () => {
  const w = dirs.work.path;
  fleetArtifact(['keygen', '--out', join(w, 'release')]);
  writeFileSync(join(w, 'rootfs.img'), Buffer.alloc(700_000, 7));
  signed = join(w, 'os-1.0.0.fleet');
  fleetArtifact(['write', 'rootfs-image', join(w, 'rootfs.img'), '--name', 'os', '--version', '1.0.0', '--device-type', 'pi4', '--key', join(w, 'release.key'), '-o', signed]);
  mkdirSync(join(dirs.hub.path, 'trusted-keys'), { recursive: true });
  copyFileSync(join(w, 'release.pub'), join(dirs.hub.path, 'trusted-keys', 'release.pub'));
  hub = await startHubProgram(dirs.hub.path, await freePort());
  flags = ['--hub', hub.address, '--token', hub.adminToken, '--ca', join(dirs.hub.path, 'hub.crt')];
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  Object.values(dirs).forEach((d) => d.remove());
}, 30_000);

describe('fleetctl artifacts against a real hub', { timeout: 60_000 }, () => {
  it('uploads, deduplicates and lists', async () => {
    expect(hub.output()).toMatch(/trusting 1 artifact signing key/);
    const first = await fleetctl(['artifacts', 'upload', signed, ...flags]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^[0-9a-f]{64} {2}os 1\.0\.0 {2}signature: trusted\n$/);
    const id = first.stdout.slice(0, 64);

    const again = await fleetctl(['artifacts', 'upload', signed, '--json', ...flags]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ id, deduplicated: true, signatureStatus: 'trusted' });

    const list = await fleetctl(['artifacts', 'list', '--json', ...flags]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject([{ id, name: 'os', version: '1.0.0', deviceTypes: ['pi4'], signatureStatus: 'trusted', uploadedBy: 'admin', payloadSummary: 'rootfs-image (gzip)' }]);

    const table = await fleetctl(['artifacts', 'list', ...flags]);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+TYPES\s+SIGNATURE\s+SIZE\s+UPLOADED\s+ID$/);
    expect(table.stdout).toContain(id.slice(0, 12));
  });

  it('exits 1 with the hub reason for a file that is not an artifact, leaving nothing behind', async () => {
    const junk = join(dirs.work.path, 'junk.fleet');
    writeFileSync(junk, Buffer.alloc(5000, 1));
    const run = await fleetctl(['artifacts', 'upload', junk, ...flags]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^fleetctl: artifacts upload: artifact junk\.fleet refused \(malformed\): /);
    expect(readdirSync(join(dirs.hub.path, 'artifacts', 'tmp'))).toEqual([]);
  });

  it('exits 2 for a missing file', async () => {
    const run = await fleetctl(['artifacts', 'upload', join(dirs.work.path, 'nope.fleet'), ...flags]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot read .*nope\.fleet/);
  });
});
