import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firstMac, readInventory } from './inventory';
import { parseOsRelease } from './os-release';
import { AGENT_VERSION } from './version';

describe('readInventory on this machine', () => {
  const inv = readInventory();

  it('reports os-release, kernel, host and CPU as the system does', () => {
    const osRelease = parseOsRelease(readFileSync(existsSync('/etc/os-release') ? '/etc/os-release' : '/usr/lib/os-release', 'utf8'));
    expect(inv['os.id']).toBe(osRelease.ID);
    expect(inv['os.pretty_name']).toBe(osRelease.PRETTY_NAME);
    if (osRelease.VERSION_ID) expect(inv['os.version_id']).toBe(osRelease.VERSION_ID);
    expect(inv['kernel.release']).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    expect(inv['kernel.version']).toBe(readFileSync('/proc/sys/kernel/version', 'utf8').trim());
    expect(inv.hostname).toBe(hostname());
    expect(inv['cpu.count']).toBe(String(cpus().length));
    expect(inv['cpu.model']).toBeTruthy();
    expect(inv.arch).toMatch(/^(x86_64|aarch64|armv\w+|riscv64|ppc64le|s390x|i686)$/);
    expect(inv['agent.version']).toBe(AGENT_VERSION);
  });

  it('reports memory from /proc/meminfo', () => {
    const kb = Number(/^MemTotal:\s*(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
    expect(inv['mem.total_bytes']).toBe(String(kb * 1024));
  });

  it('reports real block devices and skips loop/ram devices', () => {
    const real = readdirSync('/sys/block').filter((d) => !/^(loop|ram|zram)/.test(d));
    for (const d of real) {
      const sectors = Number(readFileSync(`/sys/block/${d}/size`, 'utf8'));
      if (sectors > 0) expect(inv[`disk.${d}.size_bytes`]).toBe(String(sectors * 512));
    }
    expect(Object.keys(inv).filter((k) => /^disk\.(loop|ram|zram)/.test(k))).toEqual([]);
  });

  it('reports MACs and IPv4 of non-loopback interfaces only', () => {
    expect(Object.keys(inv).some((k) => k.startsWith('net.lo.'))).toBe(false);
    for (const [name, addrs] of Object.entries(networkInterfaces())) {
      const v4 = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
      if (name !== 'lo' && v4) expect(inv[`net.${name}.ipv4`]).toBe(v4.address);
    }
    for (const key of Object.keys(inv).filter((k) => /^net\..+\.mac$/.test(k))) {
      const iface = key.split('.')[1];
      expect(inv[key]).toBe(readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim());
    }
  });

  it('has only flat string values, none empty', () => {
    for (const [k, v] of Object.entries(inv)) {
      expect(typeof v, k).toBe('string');
      expect(v, k).not.toBe('');
    }
  });
});

describe('readInventory on a partial system', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  const fakeRoot = (files: Record<string, string>): string => {
    const root = mkdtempSync(join(tmpdir(), 'agent-root-'));
    roots.push(root);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };

  it('leaves out what is missing instead of failing', () => {
    expect(readInventory(fakeRoot({}))).toEqual({ 'agent.version': AGENT_VERSION });
  });

  it('reads a fake tree: fallback os-release, ARM cpuinfo, disks, loopback by flags', () => {
    const root = fakeRoot({
      'usr/lib/os-release': 'ID=fleetos\nVERSION_ID="1.2"\nNAME="FleetOS"\n',
      'proc/cpuinfo': 'processor\t: 0\nprocessor\t: 1\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4 Model B Rev 1.4\n',
      'proc/meminfo': 'MemTotal:        3884376 kB\nMemFree: 1 kB\n',
      'proc/sys/kernel/hostname': 'pi-17\n',
      'sys/block/mmcblk0/size': '62333952\n',
      'sys/block/loop0/size': '100\n',
      'sys/block/zram0/size': '100\n',
      'sys/class/net/lo/address': '00:00:00:00:00:00\n',
      'sys/class/net/lo/flags': '0x9\n',
      'sys/class/net/wlan0/address': 'dc:a6:32:00:00:01\n',
      'sys/class/net/wlan0/flags': '0x1003\n',
    });
    expect(readInventory(root)).toEqual({
      'os.id': 'fleetos',
      'os.version_id': '1.2',
      'os.pretty_name': 'FleetOS',
      hostname: 'pi-17',
      'cpu.model': 'Raspberry Pi 4 Model B Rev 1.4',
      'cpu.count': '2',
      'mem.total_bytes': String(3884376 * 1024),
      'disk.mmcblk0.size_bytes': String(62333952 * 512),
      'net.wlan0.mac': 'dc:a6:32:00:00:01',
      'agent.version': AGENT_VERSION,
    });
    expect(firstMac(root)).toBe('dc:a6:32:00:00:01');
  });
});
