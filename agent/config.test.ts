import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_STATE_DIR, loadConfig, parseConfig, readCa, readTrustedKeys, realIdentity } from './config';
import { firstMac } from './inventory';
import { parseRemoteConfig } from './remote/remote-config';

const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, 'agent.json');
const good = { hub: 'hub.local:7443', ca: 'hub.crt', deviceType: 'rpi4' };
const noEnv = {};

describe('agent config', () => {
  it('resolves paths against the config file and fills defaults', () => {
    const c = parseConfig(good, file, noEnv);
    expect(c).toEqual({
      file,
      hub: 'hub.local:7443',
      caPath: join(dir, 'hub.crt'),
      stateDir: DEFAULT_STATE_DIR,
      deviceType: 'rpi4',
      identity: {},
      inventoryIntervalSeconds: 3600,
      update: {
        trustedArtifactKeys: [],
        slots: undefined,
        bootloader: undefined,
        hooksDir: '/etc/fleet-agent/hooks',
        modulesDir: '/usr/share/fleet-agent/modules',
        appsDir: join(DEFAULT_STATE_DIR, 'apps'),
        healthCheck: { units: [], scripts: [], timeoutSeconds: 300 },
        rebootCommand: ['systemctl', 'reboot'],
      },
      remote: parseRemoteConfig(undefined),
    });
    expect(c.remote.shell.enabled || c.remote.files.enabled || c.remote.portForward.enabled).toBe(false);
    expect(parseConfig({ ...good, stateDir: 'state', ca: '/etc/fleet/hub.crt' }, file, noEnv)).toMatchObject({ stateDir: join(dir, 'state'), caPath: '/etc/fleet/hub.crt' });
  });

  it('reads the remote section and names the bad field', () => {
    const c = parseConfig({ ...good, remote: { shell: { enabled: true }, files: { enabled: true, roots: ['/data'] } } }, file, noEnv);
    expect(c.remote.shell.enabled).toBe(true);
    expect(c.remote.files.roots).toEqual(['/data']);
    expect(c.remote.portForward.enabled).toBe(false);
    expect(() => parseConfig({ ...good, remote: { files: { enabled: true, roots: ['data'] } } }, file, noEnv)).toThrow(/config .*agent\.json: field remote\.files\.roots must be a list of absolute folder paths/);
    expect(() => parseConfig({ ...good, remote: { shel: {} } }, file, noEnv)).toThrow(/field remote: unknown field "shel"/);
  });

  it('takes hub and ca from FLEET_HUB / FLEET_CA when the file leaves them out', () => {
    const c = parseConfig({ deviceType: 'x' }, file, { FLEET_HUB: '10.0.0.5:7443', FLEET_CA: '/tmp/hub.crt' });
    expect(c.hub).toBe('10.0.0.5:7443');
    expect(c.caPath).toBe('/tmp/hub.crt');
    expect(parseConfig({ ...good, hub: '[::1]:7443' }, file, noEnv).hub).toBe('[::1]:7443');
  });

  it.each([
    [[], 'must be a JSON object'],
    [{ ...good, hub: 'nohost' }, 'field hub must be HOST:PORT, got "nohost"'],
    [{ ...good, hub: 'h:70000' }, 'field hub must be HOST:PORT'],
    [{ ...good, hub: 7443 }, 'field hub must be HOST:PORT, got 7443'],
    [{ ca: 'x', deviceType: 'd' }, 'field hub is missing'],
    [{ hub: 'h:1', deviceType: 'd' }, 'field ca is missing'],
    [{ hub: 'h:1', ca: 'x' }, 'field deviceType is missing'],
    [{ ...good, deviceType: 'has space' }, 'field deviceType must be'],
    [{ ...good, stateDir: 5 }, 'field stateDir must be a folder path'],
    [{ ...good, identity: { site: 3 } }, 'field identity.site must be a string, got 3'],
    [{ ...good, identity: 'x' }, 'field identity must be an object'],
    [{ ...good, inventoryIntervalSeconds: 0 }, 'field inventoryIntervalSeconds must be a number >= 1, got 0'],
    [{ ...good, hubb: 'x' }, 'unknown field "hubb"'],
    [{ ...good, slots: { a: '/dev/sda2' } }, 'field slots must be {"a": "/dev/...", "b": "/dev/..."}'],
    [{ ...good, slots: { a: '/dev/sda2', b: '/dev/sda3' } }, 'field slots needs field bootloader too'],
    [{ ...good, bootloader: { kind: 'lilo' } }, 'field bootloader: kind must be "uboot", "grub" or "sim", got "lilo"'],
    [{ ...good, trustedArtifactKeys: 'k.pub' }, 'field trustedArtifactKeys must be a list of paths'],
    [{ ...good, healthCheck: { units: [3] } }, 'field healthCheck.units must be a list of systemd unit names'],
    [{ ...good, healthCheck: { timeoutSeconds: 0 } }, 'field healthCheck.timeoutSeconds must be a number >= 1, got 0'],
    [{ ...good, healthCheck: { unit: [] } }, 'unknown field healthCheck.unit'],
    [{ ...good, rebootCommand: 'reboot' }, 'field rebootCommand must be a command as a list'],
  ])('rejects %j with a precise message', (json, message) => {
    expect(() => parseConfig(json, file, noEnv)).toThrow(`config ${file}: ${message}`);
  });

  it('reads the update settings: keys, slots, bootloader, folders, health checks, reboot command', () => {
    const c = parseConfig(
      {
        ...good,
        stateDir: '/var/lib/fa',
        trustedArtifactKeys: ['keys/release.pub', '/etc/fleet/old.pub'],
        slots: { a: '/dev/mmcblk0p2', b: '/dev/mmcblk0p3' },
        bootloader: { kind: 'uboot', config: 'fw_env.config' },
        hooksDir: 'hooks',
        healthCheck: { units: ['app.service'], scripts: ['checks/net'], timeoutSeconds: 90 },
        rebootCommand: ['/sbin/reboot', '-f'],
      },
      file,
      noEnv,
    );
    expect(c.update).toEqual({
      trustedArtifactKeys: [join(dir, 'keys/release.pub'), '/etc/fleet/old.pub'],
      slots: { a: '/dev/mmcblk0p2', b: '/dev/mmcblk0p3' },
      bootloader: { kind: 'uboot', config: join(dir, 'fw_env.config') },
      hooksDir: join(dir, 'hooks'),
      modulesDir: '/usr/share/fleet-agent/modules',
      appsDir: '/var/lib/fa/apps',
      healthCheck: { units: ['app.service'], scripts: [join(dir, 'checks/net')], timeoutSeconds: 90 },
      rebootCommand: ['/sbin/reboot', '-f'],
    });
  });

  it('reads trusted artifact keys, saying which file is wrong', () => {
    const pub = join(dir, 'k.pub');
    writeFileSync(pub, '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n');
    expect(readTrustedKeys([pub])).toHaveLength(1);
    expect(() => readTrustedKeys([join(dir, 'none.pub')])).toThrow(/cannot read the trusted artifact key .*none\.pub \(ENOENT\)/);
    writeFileSync(join(dir, 'bad.pub'), 'x');
    expect(() => readTrustedKeys([join(dir, 'bad.pub')])).toThrow(/is not a PEM public key/);
  });

  it('reports unreadable and invalid files by name', () => {
    expect(() => loadConfig(join(dir, 'missing.json'), noEnv)).toThrow(`config ${join(dir, 'missing.json')}: cannot read it (ENOENT)`);
    writeFileSync(file, '{ "hub": ');
    expect(() => loadConfig(file, noEnv)).toThrow(`config ${file}: not valid JSON`);
    writeFileSync(file, JSON.stringify(good));
    expect(loadConfig(file, noEnv).hub).toBe('hub.local:7443');
  });

  it('readCa says what is wrong with the certificate file', () => {
    expect(() => readCa(join(dir, 'nope.crt'))).toThrow(/cannot read the hub certificate .*nope\.crt \(ENOENT\)/);
    writeFileSync(join(dir, 'bad.crt'), 'not pem');
    expect(() => readCa(join(dir, 'bad.crt'))).toThrow(/is not a PEM certificate/);
  });

  it('real identity: device type, serial from DMI or machine-id, first MAC, config extras win', () => {
    const id = realIdentity({ deviceType: 'rpi4', identity: { site: 'lab' } });
    expect(id.device_type).toBe('rpi4');
    expect(id.site).toBe('lab');
    expect(id.serial).toBeTruthy();
    expect(id.mac).toBe(firstMac());
    expect(realIdentity({ deviceType: 'rpi4', identity: { serial: 'S-1' } }).serial).toBe('S-1');
  });
});
