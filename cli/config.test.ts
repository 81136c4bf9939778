import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from './cli-error';
import { configPath, emptyConfig, loadConfig, resolveTarget, saveConfig, type FleetctlConfig } from './config';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fleetctl-config-'));
  dirs.push(d);
  return d;
}

const saved: FleetctlConfig = {
  'current-context': 'lab',
  contexts: {
    lab: { hub: 'lab:7443', token: 'lab-token', caPem: 'LAB PEM', fingerprint: 'LAB-FP' },
    prod: { hub: 'prod:7443', token: 'prod-token', caPem: 'PROD PEM', fingerprint: 'PROD-FP' },
  },
};
const readCa = (file: string) => ({ pem: `PEM of ${file}`, fingerprint: `FP of ${file}` });

describe('resolveTarget precedence', () => {
  it('uses the current context when nothing else is given', () => {
    expect(resolveTarget({ flags: {}, env: {}, config: saved, readCa })).toEqual({
      hub: 'lab:7443', token: 'lab-token', caPem: 'LAB PEM', fingerprint: 'LAB-FP', trustSource: 'context "lab"', context: 'lab',
    });
  });

  it('lets the environment win over the context, and flags over both, setting by setting', () => {
    const env = { FLEET_HUB: 'env:1', FLEET_TOKEN: 'env-token', FLEET_CA: 'env.crt' };
    const fromEnv = resolveTarget({ flags: {}, env, config: saved, readCa });
    expect(fromEnv).toMatchObject({ hub: 'env:1', token: 'env-token', caPem: 'PEM of env.crt', fingerprint: 'FP of env.crt', trustSource: 'FLEET_CA=env.crt' });
    const fromFlags = resolveTarget({ flags: { hub: 'flag:2', caFile: 'flag.crt' }, env, config: saved, readCa });
    expect(fromFlags).toMatchObject({ hub: 'flag:2', token: 'env-token', caPem: 'PEM of flag.crt', trustSource: '--ca flag.crt' });
    const tokenOnly = resolveTarget({ flags: { token: 'flag-token' }, env: {}, config: saved, readCa });
    expect(tokenOnly).toMatchObject({ hub: 'lab:7443', token: 'flag-token', caPem: 'LAB PEM' });
  });

  it('--context picks another saved context', () => {
    expect(resolveTarget({ flags: { context: 'prod' }, env: {}, config: saved, readCa })).toMatchObject({ hub: 'prod:7443', token: 'prod-token', context: 'prod' });
    expect(() => resolveTarget({ flags: { context: 'nope' }, env: {}, config: saved, readCa })).toThrow(/no saved context named "nope"/);
  });

  it('says what is missing and how to give it', () => {
    const none = emptyConfig();
    expect(() => resolveTarget({ flags: {}, env: {}, config: none, readCa })).toThrow('no hub given: use --hub HOST:PORT, FLEET_HUB or fleetctl login');
    expect(() => resolveTarget({ flags: { hub: 'h:1' }, env: {}, config: none, readCa })).toThrow(/no token given: use --token, FLEET_TOKEN/);
    expect(() => resolveTarget({ flags: { hub: 'h:1', token: 't' }, env: {}, config: none, readCa })).toThrow(/no hub certificate to trust: use --ca FILE/);
    expect(() => resolveTarget({ flags: {}, env: {}, config: none, readCa })).toThrow(UsageError);
  });
});

describe('config file', () => {
  it('is found through FLEETCTL_CONFIG, else under ~/.config/fleetctl', () => {
    expect(configPath({ FLEETCTL_CONFIG: '/x/c.json' })).toBe('/x/c.json');
    expect(configPath({})).toMatch(/\.config\/fleetctl\/config\.json$/);
  });

  it('round-trips and is written with mode 0600 in a 0700 folder, even over a wider file', () => {
    const path = join(tempDir(), 'nested', 'config.json');
    expect(loadConfig(path)).toEqual(emptyConfig());
    saveConfig(path, saved);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(loadConfig(path)).toEqual(saved);
    chmodSync(path, 0o644);
    saveConfig(path, emptyConfig());
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(emptyConfig());
  });

  it('refuses a broken file with a hint instead of overwriting it', () => {
    const path = join(tempDir(), 'config.json');
    writeFileSync(path, '{ not json');
    expect(() => loadConfig(path)).toThrow(/config .* is not valid: .*fix or delete it/);
    writeFileSync(path, '{"contexts": null}');
    expect(() => loadConfig(path)).toThrow(/no "contexts" object/);
  });
});
