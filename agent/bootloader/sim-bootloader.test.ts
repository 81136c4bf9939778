import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootDecision, cmdlineFile, envFile, parseSimEnv, simBootloader, simulateBoot } from './sim-bootloader';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sim-bootloader-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = async () => parseSimEnv(await readFile(envFile(dir), 'utf8'), envFile(dir));

describe('simulateBoot (U-Boot with CONFIG_BOOTCOUNT_LIMIT)', () => {
  it('first power-on: factory environment, slot a, recorded on the cmdline', async () => {
    const booted = await simulateBoot(dir);
    expect(booted).toMatchObject({ slot: 'a', fellBack: false });
    expect(await env()).toEqual({ fleet_boot_part: 'a', upgrade_available: '0', bootcount: '0', bootlimit: '1' });
    expect(await readFile(cmdlineFile(dir), 'utf8')).toBe('fleet.slot=a\n');
    expect(await simBootloader({ dir }).state()).toEqual({ active: 'a', next: 'a', upgradeAvailable: false, bootcount: 0, bootlimit: 1, fellBack: false });
  });

  it('a new slot that never commits falls back to the old one after bootlimit boots', async () => {
    await simulateBoot(dir);
    const bl = simBootloader({ dir, bootlimit: 3 });
    await bl.prepareSwitch('b');
    for (const n of [1, 2, 3]) {
      expect(await simulateBoot(dir)).toMatchObject({ slot: 'b', fellBack: false });
      expect(await bl.state()).toMatchObject({ active: 'b', next: 'b', upgradeAvailable: true, bootcount: n, bootlimit: 3 });
    }
    expect(await simulateBoot(dir)).toMatchObject({ slot: 'a', fellBack: true });
    expect(await bl.state()).toEqual({ active: 'a', next: 'a', upgradeAvailable: false, bootcount: 0, bootlimit: 3, fellBack: true });
    // The bootloader already went back: nothing left to roll back; later boots stay on a.
    await bl.rollback();
    expect(await simulateBoot(dir)).toMatchObject({ slot: 'a', fellBack: false });
    // The next update clears the fallback mark.
    await bl.prepareSwitch('b');
    expect(await bl.state()).toMatchObject({ next: 'b', fellBack: false });
  });

  it('a committed slot stays, boot after boot', async () => {
    await simulateBoot(dir);
    const bl = simBootloader({ dir });
    await bl.prepareSwitch('b');
    await simulateBoot(dir);
    await bl.commit();
    for (let i = 0; i < 5; i++) expect(await simulateBoot(dir)).toMatchObject({ slot: 'b', fellBack: false });
    expect(await bl.state()).toEqual({ active: 'b', next: 'b', upgradeAvailable: false, bootcount: 0, bootlimit: 1, fellBack: false });
  });

  it('an agent rollback during the trial boot takes effect at the next boot', async () => {
    await simulateBoot(dir);
    const bl = simBootloader({ dir, bootlimit: 3 });
    await bl.prepareSwitch('b');
    await simulateBoot(dir);
    await bl.rollback();
    expect(await bl.state()).toMatchObject({ active: 'b', next: 'a', upgradeAvailable: false, fellBack: false });
    expect(await simulateBoot(dir)).toMatchObject({ slot: 'a', fellBack: false });
  });

  it('a stale bootcount without a pending trial never flips the slot', () => {
    expect(bootDecision({ fleet_boot_part: 'b', upgrade_available: '0', bootcount: '9', bootlimit: '1' })).toMatchObject({ slot: 'b', fellBack: false, save: false });
    expect(bootDecision({ fleet_boot_part: 'b', upgrade_available: '1', bootcount: '0', bootlimit: '0' })).toMatchObject({ slot: 'b', fellBack: false, save: true });
    expect(() => bootDecision({ fleet_boot_part: 'c' })).toThrow(/fleet_boot_part is "c", not a or b: nothing to boot/);
  });
});

describe('the simulated environment file', () => {
  it('ignores a torn temporary file left by a power cut mid-write', async () => {
    await simulateBoot(dir);
    const bl = simBootloader({ dir });
    await bl.prepareSwitch('b');
    const whole = await readFile(envFile(dir), 'utf8');
    // What a cut between write and rename leaves: a half-written sibling.
    await writeFile(`${envFile(dir)}.tmp-999999`, whole.slice(0, whole.length / 2) + '\0\0garbage');
    expect(await bl.state()).toMatchObject({ next: 'b', upgradeAvailable: true });
    expect(await simulateBoot(dir)).toMatchObject({ slot: 'b' });
    await bl.commit();
    expect(await env()).toMatchObject({ fleet_boot_part: 'b', upgrade_available: '0' });
  });

  it('state before the first boot, and a damaged file, are clear errors', async () => {
    await expect(simBootloader({ dir }).state()).rejects.toThrow(/simulated bootloader environment .*env does not exist: the device has not been booted \(simulateBoot\) yet/);
    await simulateBoot(dir);
    await writeFile(envFile(dir), 'fleet_boot_part=a\nthis is not a variable\n');
    await expect(simBootloader({ dir }).state()).rejects.toThrow(/env:2: not a name=value line: "this is not a variable"/);
  });

  it('kill -9 at random moments of a transition loop: always a whole, consistent environment', async () => {
    await simulateBoot(dir);
    const child = `
      import { simBootloader } from ${JSON.stringify(join(import.meta.dirname, 'sim-bootloader.ts'))};
      const bl = simBootloader({ dir: process.argv[1] });
      process.stdout.write('ready\\n');
      for (;;) { await bl.prepareSwitch('b'); await bl.rollback(); }
    `;
    for (let trial = 0; trial < 6; trial++) {
      const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        proc.stdout.once('data', () => resolve());
        proc.once('exit', (code) => reject(new Error(`transition loop exited early (${code})`)));
      });
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      const vars = await env();
      // Each write is one of the two transitions, whole: never part of one.
      expect([
        { fleet_boot_part: 'b', upgrade_available: '1', bootcount: '0', bootlimit: '1', fleet_fallback: '0' },
        { fleet_boot_part: 'a', upgrade_available: '0', bootcount: '0', bootlimit: '1', fleet_fallback: '0' },
        { fleet_boot_part: 'a', upgrade_available: '0', bootcount: '0', bootlimit: '1' },
      ]).toContainEqual(vars);
    }
    // Every kill may leave a temp sibling; the reader never looks at them.
    expect((await readdir(dir)).filter((f) => !f.includes('.tmp-')).sort()).toEqual(['cmdline', 'env']);
  }, 20_000);
});
