import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_STATE_DIR, loadConfig, parseConfig, readCa, realIdentity } from './config';
import { firstMac } from './inventory';

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
    });
    expect(parseConfig({ ...good, stateDir: 'state', ca: '/etc/fleet/hub.crt' }, file, noEnv)).toMatchObject({ stateDir: join(dir, 'state'), caPath: '/etc/fleet/hub.crt' });
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
  ])('rejects %j with a precise message', (json, message) => {
    expect(() => parseConfig(json, file, noEnv)).toThrow(`config ${file}: ${message}`);
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
