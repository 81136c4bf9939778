import { describe, expect, it } from 'vitest';
import { groupInventory } from './inventory-groups';

describe('groupInventory', () => {
  it('groups by the first key segment in a fixed order, single words under "system"', () => {
    const groups = groupInventory({
      'net.eth0.mac': '02:00:00:00:00:01',
      'disk.sdb.size_bytes': '2',
      'disk.sda.size_bytes': '1',
      'os.pretty_name': 'Debian GNU/Linux 12',
      hostname: 'dev-1',
      'zeta.custom': 'x',
      'acme.custom': 'y',
    });
    expect(groups.map((g) => g.name)).toEqual(['system', 'os', 'disk', 'net', 'acme', 'zeta']);
    expect(groups[0]).toEqual({ name: 'system', title: 'System', entries: [['hostname', 'dev-1']] });
    expect(groups[2].entries.map(([k]) => k)).toEqual(['disk.sda.size_bytes', 'disk.sdb.size_bytes']);
  });

  it('returns nothing for an empty inventory', () => {
    expect(groupInventory({})).toEqual([]);
  });
});
