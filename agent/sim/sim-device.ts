import { createHash } from 'node:crypto';
import { AGENT_VERSION } from '../version';

// What a simulated device says about itself. Everything is derived from its
// public key (and its index, for names and addresses), so a device looks the
// same after a restart and no two devices look alike.

export const DEFAULT_SIM_DEVICE_TYPE = 'sim-device';

export function simDeviceName(index: number): string {
  return `dev-${String(index).padStart(5, '0')}`;
}

/** Locally administered unicast MAC (02:...) taken from the key. */
export function simMac(publicKey: Uint8Array): string {
  return ['02', ...Array.from(publicKey.subarray(0, 5), (b) => b.toString(16).padStart(2, '0'))].join(':');
}

export function simIdentity(deviceType: string, publicKey: Uint8Array): Record<string, string> {
  return {
    device_type: deviceType,
    serial: `SIM-${Buffer.from(publicKey.subarray(0, 6)).toString('hex').toUpperCase()}`,
    mac: simMac(publicKey),
  };
}

const BOARDS = [
  { cpu: 'ARMv8 Processor rev 4 (v8l) Cortex-A53', arch: 'aarch64', disk: 'mmcblk0' },
  { cpu: 'ARMv8 Processor rev 3 (v8l) Cortex-A72', arch: 'aarch64', disk: 'mmcblk0' },
  { cpu: 'Intel(R) Atom(TM) x5-E3940 CPU @ 1.60GHz', arch: 'x86_64', disk: 'sda' },
];
const CPU_COUNTS = [1, 2, 4, 4, 8];
const MEM_MIB = [512, 1024, 2048, 4096];
const DISK_GIB = [8, 16, 32, 64];

export function simInventory(index: number, publicKey: Uint8Array): Record<string, string> {
  const h = createHash('sha256').update(publicKey).digest();
  const board = BOARDS[h[0] % BOARDS.length];
  const name = `sim-${String(index).padStart(5, '0')}`;
  return {
    'os.id': 'fleetos',
    'os.version_id': '1.0',
    'os.pretty_name': 'FleetOS 1.0 (simulated)',
    'kernel.release': `6.1.${40 + (h[1] % 30)}-fleetos`,
    'kernel.version': '#1 SMP PREEMPT FleetOS',
    hostname: name,
    arch: board.arch,
    'cpu.model': board.cpu,
    'cpu.count': String(CPU_COUNTS[h[2] % CPU_COUNTS.length]),
    'mem.total_bytes': String(MEM_MIB[h[3] % MEM_MIB.length] * 1024 * 1024),
    [`disk.${board.disk}.size_bytes`]: String(DISK_GIB[h[4] % DISK_GIB.length] * 1024 ** 3),
    'net.eth0.mac': simMac(publicKey),
    'net.eth0.ipv4': `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
    'rootfs.slots': 'a,b',
    'rootfs.active': 'a',
    'rootfs.a.version': '1.0.0',
    'agent.version': AGENT_VERSION,
    simulated: 'true',
  };
}
