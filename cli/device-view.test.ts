import { describe, expect, it } from 'vitest';
import { AdmissionStatus, type Device } from '../proto/gen/fleet/v1/common';
import { deviceDetails, deviceJson, deviceTable, parseStatus } from './device-view';

const now = 1_700_000_000_000;
const device = (over: Partial<Device>): Device => ({
  id: 'dev-1',
  status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED,
  identity: { serial: 'S1', device_type: 'sim-board' },
  publicKey: Buffer.alloc(32, 0xab),
  inventory: { 'os.pretty_name': 'Debian GNU/Linux 12', 'cpu.model': 'Sim CPU' },
  online: true,
  lastSeenMs: now - 90_000,
  createdMs: now - 86_400_000 * 3,
  updatedMs: now,
  revision: 7,
  ...over,
});

describe('device views', () => {
  it('tables devices with the agreed columns, aligned', () => {
    const out = deviceTable(
      [device({}), device({ id: 'dev-0002', status: AdmissionStatus.ADMISSION_STATUS_PENDING, online: false, lastSeenMs: 0, inventory: { 'os.id': 'alpine', 'os.version_id': '3.20' } })],
      false,
      now,
    );
    expect(out.split('\n')).toEqual([
      'ID        STATUS    ONLINE  TYPE       OS                   LAST SEEN',
      'dev-1     accepted  yes     sim-board  Debian GNU/Linux 12  1m ago',
      'dev-0002  pending   no      sim-board  alpine 3.20          never',
      '',
    ]);
  });

  it('gives scripts lower-case status, sorted maps and a hex key', () => {
    const json = deviceJson(device({}));
    expect(json).toEqual({
      id: 'dev-1',
      status: 'accepted',
      identity: { device_type: 'sim-board', serial: 'S1' },
      inventory: { 'cpu.model': 'Sim CPU', 'os.pretty_name': 'Debian GNU/Linux 12' },
      online: true,
      lastSeenMs: now - 90_000,
      createdMs: now - 86_400_000 * 3,
      publicKey: 'ab'.repeat(32),
    });
    expect(Object.keys(json.inventory)).toEqual(['cpu.model', 'os.pretty_name']);
  });

  it('shows every detail with inventory sorted', () => {
    const text = deviceDetails(device({ inventory: { z: '1', a: '2', 'm.k': '3' } }), now);
    expect(text).toContain('status      accepted\n');
    expect(text).toContain(`last seen   ${new Date(now - 90_000).toISOString()} (1m ago)\n`);
    expect(text).toContain(`public key  ${'ab'.repeat(32)}\n`);
    expect(text.endsWith('inventory\n  a    2\n  m.k  3\n  z    1\n')).toBe(true);
    expect(text).toContain('identity\n  device_type  sim-board\n  serial       S1\n');
  });

  it('parses --status in any case and refuses others', () => {
    expect(parseStatus('PENDING')).toBe(AdmissionStatus.ADMISSION_STATUS_PENDING);
    expect(() => parseStatus('online')).toThrow(/--status must be pending, accepted or rejected, got "online"/);
  });
});
