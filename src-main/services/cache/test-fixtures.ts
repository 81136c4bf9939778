import type { AdmissionStatus } from '../../common/console-api';
import type { DeviceRecord } from './device-cache';

// Deterministic device records for cache tests.
const STATUSES: AdmissionStatus[] = ['pending', 'accepted', 'rejected'];
const TYPES = ['gateway', 'sensor', 'camera', 'thermostat'];
const OSES = ['Debian GNU/Linux 12 (bookworm)', 'Yocto 4.0', 'Ubuntu 24.04 LTS'];

export function fakeDevice(i: number, overrides: Partial<DeviceRecord> = {}): DeviceRecord {
  const id = `dev-${String(i).padStart(6, '0')}`;
  return {
    id,
    hubId: 'hub-a',
    status: STATUSES[i % 3],
    online: i % 2 === 0,
    deviceType: TYPES[i % 4],
    os: OSES[i % 3],
    lastSeenMs: 1_700_000_000_000 + ((i * 7919) % 100_000) * 1000,
    createdMs: 1_690_000_000_000 + i,
    revision: i + 1,
    identity: { device_type: TYPES[i % 4], serial: `SN${(i * 2654435761) % 1_000_000_007}`, mac: `02:00:00:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}` },
    inventory: { 'os.pretty_name': OSES[i % 3], 'kernel.release': `6.1.${i % 50}`, hostname: `host-${i}`, 'cpu.model': 'ARM Cortex-A72' },
    publicKey: 'ab'.repeat(32),
    ...overrides,
  };
}

function hex(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}
