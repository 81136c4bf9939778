import { readFileSync, readdirSync } from 'node:fs';
import { arch, cpus, hostname, machine, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Inventory } from './inventory-patch';
import { parseOsRelease } from './os-release';
import { AGENT_VERSION } from './version';

// Inventory of the real Linux system, as flat dotted keys with string values.
// Each reader tolerates missing or unreadable files (containers, minimal
// images, other kernels) by leaving its keys out: a partial inventory is
// better than none. `root` lets tests point the file readers at a fake tree.

export function readInventory(root = '/'): Inventory {
  return {
    ...readOs(root),
    ...readKernel(root),
    ...readHost(root),
    ...readCpu(root),
    ...readMemory(root),
    ...readDisks(root),
    ...readNetwork(root),
    'agent.version': AGENT_VERSION,
  };
}

function readText(root: string, ...path: string[]): string | undefined {
  try {
    return readFileSync(join(root, ...path), 'utf8');
  } catch {
    return undefined;
  }
}

function listDir(root: string, ...path: string[]): string[] {
  try {
    return readdirSync(join(root, ...path));
  } catch {
    return [];
  }
}

function put(out: Inventory, key: string, value: string | undefined): void {
  const v = value?.trim();
  if (v) out[key] = v;
}

export function readOs(root: string): Inventory {
  // os-release(5): /etc/os-release wins, /usr/lib/os-release is the fallback.
  const text = readText(root, 'etc/os-release') ?? readText(root, 'usr/lib/os-release');
  const out: Inventory = {};
  if (text === undefined) return out;
  const rel = parseOsRelease(text);
  put(out, 'os.id', rel.ID);
  put(out, 'os.version_id', rel.VERSION_ID);
  put(out, 'os.pretty_name', rel.PRETTY_NAME ?? rel.NAME);
  return out;
}

export function readKernel(root: string): Inventory {
  const out: Inventory = {};
  put(out, 'kernel.release', readText(root, 'proc/sys/kernel/osrelease'));
  put(out, 'kernel.version', readText(root, 'proc/sys/kernel/version'));
  return out;
}

export function readHost(root: string): Inventory {
  const out: Inventory = {};
  // The system's own names (uname), so they hold even when /proc is absent.
  put(out, 'hostname', readText(root, 'proc/sys/kernel/hostname') ?? (root === '/' ? hostname() : undefined));
  put(out, 'arch', root === '/' ? machine() || arch() : undefined);
  return out;
}

export function readCpu(root: string): Inventory {
  const out: Inventory = {};
  const info = readText(root, 'proc/cpuinfo');
  if (info !== undefined) {
    // x86 says "model name"; ARM says "Model", "Hardware" or "Processor".
    for (const field of ['model name', 'Model', 'Hardware', 'Processor', 'cpu model']) {
      const m = new RegExp(`^${field}\\s*:\\s*(.+)$`, 'm').exec(info);
      if (m) {
        put(out, 'cpu.model', m[1]);
        break;
      }
    }
  }
  if (root === '/') {
    const list = cpus();
    if (!out['cpu.model']) put(out, 'cpu.model', list[0]?.model);
    if (list.length > 0) out['cpu.count'] = String(list.length);
  } else if (info !== undefined) {
    const count = info.match(/^processor\s*:/gm)?.length ?? 0;
    if (count > 0) out['cpu.count'] = String(count);
  }
  return out;
}

export function readMemory(root: string): Inventory {
  const out: Inventory = {};
  const m = /^MemTotal:\s*(\d+)\s*kB/m.exec(readText(root, 'proc/meminfo') ?? '');
  if (m) out['mem.total_bytes'] = String(Number(m[1]) * 1024);
  return out;
}

/** Block devices that are real storage: not loop, RAM or compressed-RAM devices. */
export function readDisks(root: string): Inventory {
  const out: Inventory = {};
  for (const name of listDir(root, 'sys/block')) {
    if (/^(loop|ram|zram)\d*/.test(name)) continue;
    const sectors = Number(readText(root, 'sys/block', name, 'size')?.trim());
    // /sys/block/*/size counts 512-byte sectors whatever the device's sector size.
    if (Number.isFinite(sectors) && sectors > 0) out[`disk.${name}.size_bytes`] = String(sectors * 512);
    put(out, `disk.${name}.model`, readText(root, 'sys/block', name, 'device', 'model'));
  }
  return out;
}

const IFF_LOOPBACK = 0x8;

export function readNetwork(root: string): Inventory {
  const out: Inventory = {};
  const addresses = root === '/' ? networkInterfaces() : {};
  for (const iface of listDir(root, 'sys/class/net').sort()) {
    if (isLoopback(root, iface)) continue;
    const mac = readText(root, 'sys/class/net', iface, 'address')?.trim();
    if (mac && mac !== '00:00:00:00:00:00') out[`net.${iface}.mac`] = mac;
    const v4 = addresses[iface]?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) out[`net.${iface}.ipv4`] = v4.address;
  }
  return out;
}

function isLoopback(root: string, iface: string): boolean {
  const flags = readText(root, 'sys/class/net', iface, 'flags');
  if (flags !== undefined) return (Number.parseInt(flags.trim(), 16) & IFF_LOOPBACK) !== 0;
  return iface === 'lo';
}

/** MAC of the first non-loopback interface (by name order), for the identity. */
export function firstMac(root = '/'): string | undefined {
  const net = readNetwork(root);
  const key = Object.keys(net).find((k) => k.endsWith('.mac'));
  return key ? net[key] : undefined;
}
