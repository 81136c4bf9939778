import { describe, expect, it } from 'vitest';
import { parseRemoteConfig } from './remote-config';
import { remoteInventory } from './remote-inventory';

describe('remoteInventory', () => {
  it('says off for everything by default and lists no folders', () => {
    expect(remoteInventory(parseRemoteConfig(undefined))).toEqual({ 'remote.shell': 'off', 'remote.files': 'off', 'remote.port_forward': 'off' });
  });

  it('lists the allowed folders when file transfer is on', () => {
    const config = parseRemoteConfig({ shell: { enabled: true }, files: { enabled: true, roots: ['/data', '/var/log'] } });
    expect(remoteInventory(config)).toEqual({ 'remote.shell': 'on', 'remote.files': 'on', 'remote.port_forward': 'off', 'remote.files.roots': '/data,/var/log' });
  });
});
