import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Slot } from './bootloader';
import { grubBootloader } from './grub-env';
import { parsePrintenv } from './uboot-env';

// Everything here runs Debian's real grub-editenv on a real 1024-byte
// environment block, and grub-script-check on the boot script we ship.

const run = promisify(execFile);

let dir: string;
let envFile: string;
let cmdline: string;
let log: string;
let wrapper: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'grub-env-test-'));
  envFile = join(dir, 'grubenv');
  cmdline = join(dir, 'cmdline');
  log = join(dir, 'grub-editenv.log');
  wrapper = join(dir, 'grub-editenv');
  // Logs each call, then runs the real tool: how the tests count writes.
  await writeFile(wrapper, `#!/bin/sh\necho "$@" >> '${log}'\nexec grub-editenv "$@"\n`, { mode: 0o755 });
  await run('grub-editenv', [envFile, 'create']);
  await run('grub-editenv', [envFile, 'set', 'fleet_boot_part=a', 'default=0']);
  await boot('a');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const boot = (slot: Slot) => writeFile(cmdline, `BOOT_IMAGE=/boot/vmlinuz root=LABEL=rootfs-${slot} ro fleet.slot=${slot}\n`);
const list = async () => parsePrintenv((await run('grub-editenv', [envFile, 'list'])).stdout);
const calls = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
const bootloader = () => grubBootloader({ envFile, cmdline, grubEditenv: wrapper });

describe('GRUB backend through grub-editenv', () => {
  it('one set call writes every variable of a transition into the 1024-byte block (on the copy that replaces it)', async () => {
    const bl = bootloader();
    expect(bl.kind).toBe('grub');
    expect(await bl.state()).toEqual({ active: 'a', next: 'a', upgradeAvailable: false, bootcount: 0, bootlimit: 0, fellBack: false });
    await bl.prepareSwitch('b');
    expect((await calls()).filter((c) => !c.endsWith(' list'))).toEqual([`${envFile}.fleet-new set fleet_boot_part=b upgrade_available=1 bootcount=0 bootlimit=1 fleet_fallback=0`]);
    expect((await stat(envFile)).size).toBe(1024);
    expect(await list()).toEqual({ default: '0', fleet_boot_part: 'b', upgrade_available: '1', bootcount: '0', bootlimit: '1', fleet_fallback: '0' });
  });

  it('follows the boot script: first trial boot counts, commit makes it permanent', async () => {
    const bl = bootloader();
    await bl.prepareSwitch('b');
    // What grub-fleet.cfg's save_env does on the first boot of the trial slot.
    await run('grub-editenv', [envFile, 'set', 'bootcount=1']);
    await boot('b');
    expect(await bl.state()).toEqual({ active: 'b', next: 'b', upgradeAvailable: true, bootcount: 1, bootlimit: 1, fellBack: false });
    await bl.commit();
    expect(await list()).toMatchObject({ fleet_boot_part: 'b', upgrade_available: '0', bootcount: '0', fleet_fallback: '0' });
  });

  it('reports the script\'s fallback, and rollback after it writes nothing', async () => {
    const bl = bootloader();
    await bl.prepareSwitch('b');
    // Second boot without a commit: grub-fleet.cfg goes back to a.
    await run('grub-editenv', [envFile, 'set', 'fleet_boot_part=a', 'upgrade_available=0', 'bootcount=0', 'fleet_fallback=1']);
    expect(await bl.state()).toMatchObject({ active: 'a', next: 'a', upgradeAvailable: false, fellBack: true });
    const before = (await calls()).length;
    await bl.rollback();
    expect((await calls()).slice(before).filter((c) => !c.endsWith(' list'))).toEqual([]);
  });

  it('canary: set and unset on the copy, one rename; nothing left behind', async () => {
    await bootloader().canary();
    expect(await list()).not.toHaveProperty('fleet_canary');
    expect((await calls()).filter((c) => !c.endsWith(' list')).map((c) => c.split(' ')[1])).toEqual(['set', 'unset']);
  });

  it('a missing env file is an error, not a silently created empty block', async () => {
    const missing = join(dir, 'nope', 'grubenv');
    const bl = grubBootloader({ envFile: missing, cmdline });
    await expect(bl.state()).rejects.toThrow(`GRUB environment ${missing} does not exist (ENOENT): check the path, or create it with "grub-editenv ${missing} create"`);
    await expect(bl.canary()).rejects.toThrow(/canary: GRUB environment .* does not exist/);
    await expect(stat(missing)).rejects.toThrow(/ENOENT/);
  });

  it('a file that is not an environment block: grub-editenv\'s error', async () => {
    await writeFile(envFile, 'not a grub env\n');
    await expect(bootloader().state()).rejects.toThrow(/cannot read it: .*grub-editenv .* list failed \(exit 1\): .*invalid environment block/);
  });

  it('a damaged block: the write fails with grub-editenv\'s message and changes nothing', async () => {
    await writeFile(envFile, `# GRUB Environment Block\nfleet_boot_part=a\n${'x'.repeat(10)}`);
    const before = await readFile(envFile);
    await expect(bootloader().canary()).rejects.toThrow(/canary: GRUB environment .*: cannot write it: .*grub-editenv .*grubenv.fleet-new set fleet_canary=[0-9a-f]+ failed \(exit 1\): grub-editenv: error: environment block too small/);
    expect(await readFile(envFile)).toEqual(before);
    expect(await readdir(dir)).not.toContain('grubenv.fleet-new');
  });

  it('refuses anything but a regular file (it is replaced by rename)', async () => {
    await expect(grubBootloader({ envFile: '/dev/null', cmdline }).canary()).rejects.toThrow('canary: GRUB environment /dev/null is not a regular file');
  });

  it('each write replaces the block whole (rename), ignoring a torn copy left by a power cut', async () => {
    const bl = bootloader();
    await writeFile(`${envFile}.fleet-new`, '# GRUB Environment Block\nfleet_boot_part=b\n');
    expect(await bl.state()).toMatchObject({ next: 'a' });
    const inode = (await stat(envFile)).ino;
    await bl.prepareSwitch('b');
    expect((await stat(envFile)).ino).not.toBe(inode);
    expect((await stat(envFile)).size).toBe(1024);
    expect(await list()).toMatchObject({ fleet_boot_part: 'b', upgrade_available: '1', default: '0' });
    expect(await readdir(dir)).not.toContain('grubenv.fleet-new');
  });
});

describe('grub-fleet.cfg', () => {
  it('passes grub-script-check and is the snippet quoted in docs/bootloader.md', async () => {
    const cfg = join(import.meta.dirname, 'grub-fleet.cfg');
    await run('grub-script-check', [cfg]);
    const docs = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'bootloader.md'), 'utf8');
    expect(docs).toContain(await readFile(cfg, 'utf8'));
  });

  it('grub-script-check does reject a broken script (the check above can fail)', async () => {
    const bad = join(dir, 'bad.cfg');
    await writeFile(bad, 'if [ "${x}" = "1" ]; then\n  set y=1\n');
    await expect(run('grub-script-check', [bad])).rejects.toThrow();
  });
});
