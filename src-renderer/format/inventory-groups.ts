// Groups flat inventory keys ("os.pretty_name", "disk.sda.size_bytes",
// "hostname") by their first segment for the device page. Known groups come
// in a fixed, useful order; single-word keys form the "system" group.

export interface InventoryGroup {
  name: string;
  title: string;
  entries: [key: string, value: string][];
}

const ORDER = ['system', 'os', 'kernel', 'cpu', 'mem', 'disk', 'net', 'agent'];
const TITLES: Record<string, string> = {
  system: 'System',
  os: 'Operating system',
  kernel: 'Kernel',
  cpu: 'CPU',
  mem: 'Memory',
  disk: 'Disks',
  net: 'Network',
  agent: 'Agent',
};

export function groupInventory(inventory: Record<string, string>): InventoryGroup[] {
  const groups = new Map<string, [string, string][]>();
  for (const [key, value] of Object.entries(inventory)) {
    const dot = key.indexOf('.');
    const name = dot > 0 ? key.slice(0, dot) : 'system';
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name)!.push([key, value]);
  }
  const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
  return [...groups.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([name, entries]) => ({
      name,
      title: TITLES[name] ?? name,
      entries: entries.sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })),
    }));
}
