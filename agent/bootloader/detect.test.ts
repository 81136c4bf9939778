import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBootloader, findTool, parseBootloaderConfig } from './detect';
import { simulateBoot } from './sim-bootloader';

const run = promisify(execFile);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bootloader-detect-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseBootloaderConfig', () => {
  const parse = (json: unknown) => parseBootloaderConfig(json, 'config /etc/fleet/agent.json: bootloader', '/etc/fleet');

  it('fills in the standard paths and resolves relative ones against the config folder', () => {
    expect(parse({ kind: 'uboot' })).toEqual({ kind: 'uboot', config: '/etc/fw_env.config' });
    expect(parse({ kind: 'uboot', config: 'fw_env.config', defaultEnv: '/etc/u-boot-initial-env', cmdline: '/proc/cmdline', bootlimit: 3 })).toEqual({
      kind: 'uboot',
      config: '/etc/fleet/fw_env.config',
      defaultEnv: '/etc/u-boot-initial-env',
      cmdline: '/proc/cmdline',
      bootlimit: 3,
    });
    expect(parse({ kind: 'grub' })).toEqual({ kind: 'grub', envFile: '/boot/grub/grubenv' });
    expect(parse({ kind: 'sim', bootlimit: 2 })).toEqual({ kind: 'sim', bootlimit: 2 });
  });

  it('says what is wrong', () => {
    expect(() => parse('uboot')).toThrow('config /etc/fleet/agent.json: bootloader: must be an object like {"kind": "uboot"}');
    expect(() => parse({ kind: 'barebox' })).toThrow('kind must be "uboot", "grub" or "sim", got "barebox"');
    expect(() => parse({ kind: 'grub', config: '/etc/fw_env.config' })).toThrow('unknown field "config" for kind grub (known: kind, envFile, cmdline)');
    expect(() => parse({ kind: 'grub', bootlimit: 2 })).toThrow(/unknown field "bootlimit" for kind grub/);
    expect(() => parse({ kind: 'uboot', config: '' })).toThrow('config must be a file path, got ""');
    expect(() => parse({ kind: 'sim', bootlimit: 0 })).toThrow('bootlimit must be a whole number >= 1, got 0');
  });
});

describe('createBootloader', () => {
  it('finds the real tools on PATH', async () => {
    expect(await findTool('fw_setenv')).toMatch(/\/fw_setenv$/);
    expect(await findTool('grub-editenv')).toMatch(/\/grub-editenv$/);
    expect(await findTool('fw_setenv', dir)).toBeNull();
  });

  it('a missing tool: "fw_setenv not found on PATH: install libubootenv-tool"', async () => {
    // A PATH that has fw_printenv but not fw_setenv.
    const printenv = await findTool('fw_printenv');
    await symlink(printenv!, join(dir, 'fw_printenv'));
    await expect(createBootloader({ kind: 'uboot', config: join(dir, 'fw_env.config') }, { stateDir: dir, searchPath: dir })).rejects.toThrow(
      'fw_setenv not found on PATH: install libubootenv-tool',
    );
    await expect(createBootloader({ kind: 'grub', envFile: join(dir, 'grubenv') }, { stateDir: dir, searchPath: dir })).rejects.toThrow(
      'grub-editenv not found on PATH: install grub-common',
    );
  });

  it('a missing fw_env.config or grubenv: says which file and how to make it', async () => {
    await expect(createBootloader({ kind: 'uboot', config: join(dir, 'fw_env.config') }, { stateDir: dir })).rejects.toThrow(
      /fw_env.config .*fw_env.config: cannot read it \(ENOENT\); write one line per environment copy/,
    );
    await expect(createBootloader({ kind: 'grub', envFile: join(dir, 'grubenv') }, { stateDir: dir })).rejects.toThrow(
      /GRUB environment .*grubenv: cannot read it \(ENOENT\); create it with "grub-editenv .*grubenv create"/,
    );
  });

  it('builds each backend, working against its environment', async () => {
    const cmdline = join(dir, 'cmdline');
    await writeFile(cmdline, 'fleet.slot=a\n');

    const envBin = join(dir, 'env.bin');
    await writeFile(envBin, Buffer.alloc(0x2000));
    await writeFile(join(dir, 'fw_env.config'), `${envBin} 0x0 0x1000\n${envBin} 0x1000 0x1000\n`);
    await writeFile(join(dir, 'defaults'), 'fleet_boot_part=a\n');
    await run('fw_setenv', ['-c', join(dir, 'fw_env.config'), '-f', join(dir, 'defaults'), 'bootlimit', '1']);
    const uboot = await createBootloader({ kind: 'uboot', config: join(dir, 'fw_env.config'), cmdline }, { stateDir: dir });
    expect(uboot.kind).toBe('uboot');
    await uboot.canary();
    expect(await uboot.state()).toMatchObject({ active: 'a', next: 'a' });

    const grubenv = join(dir, 'grubenv');
    await run('grub-editenv', [grubenv, 'create']);
    await run('grub-editenv', [grubenv, 'set', 'fleet_boot_part=a']);
    const grub = await createBootloader({ kind: 'grub', envFile: grubenv, cmdline }, { stateDir: dir });
    expect(grub.kind).toBe('grub');
    await grub.canary();
    expect(await grub.state()).toMatchObject({ active: 'a', next: 'a' });

    await simulateBoot(join(dir, 'bootloader'));
    const sim = await createBootloader({ kind: 'sim', bootlimit: 2 }, { stateDir: dir });
    expect(sim.kind).toBe('sim');
    await sim.prepareSwitch('b');
    expect(await sim.state()).toMatchObject({ active: 'a', next: 'b', bootlimit: 2 });
  });
});
