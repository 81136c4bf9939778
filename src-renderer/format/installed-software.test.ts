import { describe, expect, it } from 'vitest';
import { installedSoftware } from './installed-software';

describe('installedSoftware', () => {
  it('pairs names and versions per artifact group, sorted by group', () => {
    expect(
      installedSoftware({
        'artifact.fleetos.name': 'fleetos',
        'artifact.fleetos.version': '2.0.0',
        'artifact.modem.version': '7.1',
        'artifact.app.name': 'orphan-name-only',
        'rootfs.active': 'b',
      }),
    ).toEqual([
      { group: 'fleetos', name: 'fleetos', version: '2.0.0' },
      { group: 'modem', name: 'modem', version: '7.1' },
    ]);
    expect(installedSoftware({})).toEqual([]);
  });
});
