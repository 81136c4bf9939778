import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Slot } from './bootloader';
import { parsePrintenv, setenvScript, ubootBootloader } from './uboot-env';

// Everything here runs Debian's real fw_printenv / fw_setenv (libubootenv)
// on a file-backed environment described by an fw_env.config.

const run = promisify(execFile);
const ENV_SIZE = 0x4000;
const ALTBOOTCMD = 'if test "${upgrade_available}" = 1; then setenv fleet_fallback 1; fi; run bootcmd';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uboot-env-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Device {
  config: string;
  envBin: string;
  cmdline: string;
  /** A wrapper around the real fw_setenv that logs each call, to count the writes. */
  fwSetenv: string;
  setenvCalls(): Promise<number>;
  boot(slot: Slot): Promise<void>;
  printenv(): Promise<Record<string, string>>;
}

// A zero-filled file has no valid CRC, so the first write needs a default
// environment (-f); libubootenv then stores it with our variable added. That
// is how a board's first saveenv looks.
async function makeDevice(opts: { redundant?: boolean; bootlimit?: string } = {}): Promise<Device> {
  const envBin = join(dir, 'env.bin');
  const config = join(dir, 'fw_env.config');
  const cmdline = join(dir, 'cmdline');
  const log = join(dir, 'fw_setenv.log');
  const fwSetenv = join(dir, 'fw_setenv');
  await writeFile(envBin, Buffer.alloc(ENV_SIZE * (opts.redundant ? 2 : 1)));
  const lines = [`${envBin} 0x0 0x${ENV_SIZE.toString(16)}`];
  if (opts.redundant) lines.push(`${envBin} 0x${ENV_SIZE.toString(16)} 0x${ENV_SIZE.toString(16)}`);
  await writeFile(config, `${lines.join('\n')}\n`);
  const defaults = join(dir, 'default-env.txt');
  await writeFile(defaults, `fleet_boot_part=a\nupgrade_available=0\nbootcount=0\nbootlimit=${opts.bootlimit ?? '1'}\naltbootcmd=${ALTBOOTCMD}\n`);
  await run('fw_setenv', ['-c', config, '-f', defaults, 'board', 'test']);
  await writeFile(fwSetenv, `#!/bin/sh\necho "$@" >> '${log}'\nexec fw_setenv "$@"\n`, { mode: 0o755 });
  const device: Device = {
    config,
    envBin,
    cmdline,
    fwSetenv,
    setenvCalls: async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).length,
    boot: (slot) => writeFile(cmdline, `console=ttyS0 root=/dev/mmcblk0p${slot === 'a' ? 2 : 3} fleet.slot=${slot} rootwait\n`),
    printenv: async () => parsePrintenv((await run('fw_printenv', ['-c', config])).stdout),
  };
  await device.boot('a');
  return device;
}

function bootloaderFor(d: Device, bootlimit?: number) {
  return ubootBootloader({ config: d.config, cmdline: d.cmdline, fwSetenv: d.fwSetenv, bootlimit });
}

/** The redundant-environment flag of each copy: libubootenv bumps it by one per store. */
async function flags(d: Device): Promise<[number, number]> {
  const bin = await readFile(d.envBin);
  return [bin[4], bin[ENV_SIZE + 4]];
}

describe('the fw_setenv -s script format of Debian libubootenv 0.3.2', () => {
  it('sets name=value, removes name=, and ignores "name value" and bare names', async () => {
    const d = await makeDevice();
    const script = join(dir, 'script');
    await writeFile(script, 'fleet_boot_part=b\nwith_spaces=run a; run b\nbootcount=\nold_style 1\nbootlimit\n# comment=1\n');
    await run('fw_setenv', ['-c', d.config, '-s', script]);
    const env = await d.printenv();
    expect(env.fleet_boot_part).toBe('b');
    expect(env.with_spaces).toBe('run a; run b');
    expect(env).not.toHaveProperty('bootcount');
    expect(env).not.toHaveProperty('old_style');
    expect(env).not.toHaveProperty('old_style 1');
    expect(env.bootlimit).toBe('1');
    expect(env).not.toHaveProperty('# comment');
  });

  it('is what setenvScript writes', () => {
    expect(setenvScript({ fleet_boot_part: 'b', upgrade_available: '1', fleet_canary: null })).toBe('fleet_boot_part=b\nupgrade_available=1\nfleet_canary=\n');
    expect(() => setenvScript({ 'bad name': '1' })).toThrow(/bad bootloader variable name/);
    expect(() => setenvScript({ x: 'two\nlines' })).toThrow(/one line/);
  });
});

describe('parsePrintenv', () => {
  it('splits at the first = and keeps continuation lines', () => {
    expect(parsePrintenv('a=1\nb=x=y z\nc=line1\nline2\nd=\n')).toEqual({ a: '1', b: 'x=y z', c: 'line1\nline2', d: '' });
  });
});

describe('U-Boot backend on a redundant file-backed environment', () => {
  it('runs a whole update: prepareSwitch, reboot, commit; one fw_setenv call and one store per transition', async () => {
    const d = await makeDevice({ redundant: true });
    const bl = bootloaderFor(d, 2);
    expect(bl.kind).toBe('uboot');
    expect(await bl.state()).toEqual({ active: 'a', next: 'a', upgradeAvailable: false, bootcount: 0, bootlimit: 1, fellBack: false });

    const before = Math.max(...(await flags(d)));
    await bl.prepareSwitch('b');
    expect(await d.setenvCalls()).toBe(1);
    expect(Math.max(...(await flags(d)))).toBe(before + 1);
    const env = await d.printenv();
    expect(env).toMatchObject({ fleet_boot_part: 'b', upgrade_available: '1', bootcount: '0', bootlimit: '2', fleet_fallback: '0', board: 'test' });
    expect(env.altbootcmd).toBe(ALTBOOTCMD);
    expect(await bl.state()).toMatchObject({ active: 'a', next: 'b', upgradeAvailable: true });

    await d.boot('b');
    await bl.commit();
    expect(await d.setenvCalls()).toBe(2);
    expect(Math.max(...(await flags(d)))).toBe(before + 2);
    expect(await bl.state()).toEqual({ active: 'b', next: 'b', upgradeAvailable: false, bootcount: 0, bootlimit: 2, fellBack: false });

    await bl.commit();
    expect(await d.setenvCalls()).toBe(2);
  });

  it('a torn store of the newer copy leaves the whole previous transition, never half of one', async () => {
    const d = await makeDevice({ redundant: true });
    const bl = bootloaderFor(d);
    await bl.prepareSwitch('b');
    const [f0, f1] = await flags(d);
    const newer = f0 > f1 ? 0 : ENV_SIZE;
    const bin = await readFile(d.envBin);
    bin.fill(0xff, newer + 8, newer + 64);
    await writeFile(d.envBin, bin);
    expect(await d.printenv()).toMatchObject({ fleet_boot_part: 'a', upgrade_available: '0', board: 'test' });
    expect(await bl.state()).toMatchObject({ next: 'a', upgradeAvailable: false });
  });

  it('rolls back before and after the reboot, idempotently', async () => {
    const d = await makeDevice({ redundant: true });
    const bl = bootloaderFor(d);
    await bl.prepareSwitch('b');
    await bl.rollback();
    expect(await bl.state()).toMatchObject({ active: 'a', next: 'a', upgradeAvailable: false });

    await bl.prepareSwitch('b');
    await d.boot('b');
    await bl.rollback();
    await bl.rollback();
    expect(await d.setenvCalls()).toBe(4);
    expect(await d.printenv()).toMatchObject({ fleet_boot_part: 'a', upgrade_available: '0', bootcount: '0' });
  });

  it('refuses transitions that would lose the way back', async () => {
    const d = await makeDevice();
    const bl = bootloaderFor(d);
    await expect(bl.prepareSwitch('a')).rejects.toThrow('cannot switch to slot a: it is the running slot; install into slot b');
    await bl.prepareSwitch('b');
    await bl.prepareSwitch('b');
    await expect(bl.commit()).rejects.toThrow(/cannot commit: slot a is running but slot b is the one on trial/);
    await d.boot('b');
    await expect(bl.prepareSwitch('a')).rejects.toThrow(/slot b is still on trial \(upgrade_available=1\); commit or roll back first/);
    expect(await d.printenv()).toMatchObject({ fleet_boot_part: 'b', upgrade_available: '1' });
  });

  it('reports a missing boot part or running slot clearly', async () => {
    const d = await makeDevice();
    const script = join(dir, 'unset');
    await writeFile(script, 'fleet_boot_part=\n');
    await run('fw_setenv', ['-c', d.config, '-s', script]);
    await expect(bootloaderFor(d).state()).rejects.toThrow(/fleet_boot_part is not set; it must be "a" or "b"/);
    await writeFile(d.cmdline, 'console=ttyS0 root=/dev/sda2\n');
    await run('fw_setenv', ['-c', d.config, 'fleet_boot_part', 'a']);
    await expect(bootloaderFor(d).state()).rejects.toThrow(/has no fleet.slot=a or fleet.slot=b/);
  });

  it('canary: passes on a writable environment and leaves no variable behind', async () => {
    const d = await makeDevice({ redundant: true });
    await bootloaderFor(d).canary();
    expect(await d.setenvCalls()).toBe(2);
    expect(await d.printenv()).not.toHaveProperty('fleet_canary');
  });
});

describe('U-Boot backend on a broken environment', () => {
  it('a missing environment file: state and canary say so, with fw_printenv\'s message', async () => {
    const d = await makeDevice();
    await rm(d.envBin);
    const bl = bootloaderFor(d);
    await expect(bl.state()).rejects.toThrow(/U-Boot environment \(fw_env.config .*\): cannot read it: fw_printenv -c .* failed \(exit \d+\): Configuration file wrong or corrupted \(fix the fw_env.config/);
    await expect(bl.canary()).rejects.toThrow(/canary: .*cannot write it: .*Configuration file wrong or corrupted/);
  });

  it('an environment that was never stored (no valid CRC, no default): a clear error', async () => {
    const d = await makeDevice();
    await writeFile(d.envBin, Buffer.alloc(ENV_SIZE));
    await expect(bootloaderFor(d).state()).rejects.toThrow(/Cannot read environment, using default; Cannot read default environment from file \(the environment has no valid CRC/);
  });

  it('a device that refuses writes (/dev/full): the canary reports fw_setenv\'s error', async () => {
    const d = await makeDevice();
    await writeFile(d.config, '/dev/full 0x0 0x4000\n');
    await expect(bootloaderFor(d).canary()).rejects.toThrow(/canary: U-Boot environment .* cannot write it: .*failed/);
  });

  it('a device that drops writes (/dev/null) behind a default environment: only the canary notices', async () => {
    const d = await makeDevice();
    await writeFile(d.config, '/dev/null 0x0 0x4000\n');
    const bl = ubootBootloader({ config: d.config, defaultEnv: join(dir, 'default-env.txt'), cmdline: d.cmdline });
    // Both tools fall back to the default environment and report success.
    expect(await bl.state()).toMatchObject({ active: 'a', next: 'a' });
    await bl.prepareSwitch('b');
    expect(await bl.state()).toMatchObject({ next: 'a', upgradeAvailable: false });
    await expect(bl.canary()).rejects.toThrow(/canary: U-Boot environment .*: wrote fleet_canary=[0-9a-f]{16} but read back nothing; writes do not reach/);
  });

  it('a read-only environment file (agent not root): the canary fails with fw_setenv\'s error and nothing changes', async () => {
    const d = await makeDevice();
    await chmod(d.envBin, 0o444);
    await chmod(dir, 0o755);
    // Root may write a 0444 file, so as root the canary runs in a child
    // process as nobody: an agent that was not given write access.
    const canary = `
      import { ubootBootloader } from ${JSON.stringify(join(import.meta.dirname, 'uboot-env.ts'))};
      await ubootBootloader({ config: process.argv[1], cmdline: process.argv[2] }).canary()
        .then(() => console.log('passed'), (err) => console.log(err.message));
    `;
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const [file, ...args] = [...asUser, process.execPath, '--import', 'tsx', '--input-type=module', '-e', canary, d.config, d.cmdline];
    const { stdout } = await run(file, args, { env: { ...process.env, HOME: dir }, timeout: 15_000 });
    expect(stdout.trim()).toMatch(/^canary: U-Boot environment .*: cannot write it: fw_setenv .* failed \(exit \d+\): Error storing the env \(the environment device or file is not writable by this user/);
    expect(await d.printenv()).not.toHaveProperty('fleet_canary');
  });

  it('a missing fw_setenv: "not found: install libubootenv-tool"', async () => {
    const d = await makeDevice();
    const bl = ubootBootloader({ config: d.config, cmdline: d.cmdline, fwSetenv: join(dir, 'no-such-fw_setenv') });
    await expect(bl.prepareSwitch('b')).rejects.toThrow(/no-such-fw_setenv not found: install libubootenv-tool/);
  });
});
