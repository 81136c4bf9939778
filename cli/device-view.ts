import { AdmissionStatus, type Device } from '../proto/gen/fleet/v1/common';
import { UsageError } from './cli-error';
import { keyValueLines, relativeTime, table, type Color } from './format';

// How a device is shown: the JSON scripts parse and the text people read.

export type StatusName = 'pending' | 'accepted' | 'rejected';

const STATUS_NAMES: Record<StatusName, AdmissionStatus> = {
  pending: AdmissionStatus.ADMISSION_STATUS_PENDING,
  accepted: AdmissionStatus.ADMISSION_STATUS_ACCEPTED,
  rejected: AdmissionStatus.ADMISSION_STATUS_REJECTED,
};

export function parseStatus(text: string): AdmissionStatus {
  const status = STATUS_NAMES[text.toLowerCase() as StatusName];
  if (status === undefined) throw new UsageError(`--status must be pending, accepted or rejected, got "${text}"`);
  return status;
}

export function statusName(status: AdmissionStatus): string {
  return (Object.keys(STATUS_NAMES) as StatusName[]).find((name) => STATUS_NAMES[name] === status) ?? 'unknown';
}

export interface DeviceJson {
  id: string;
  status: string;
  identity: Record<string, string>;
  inventory: Record<string, string>;
  online: boolean;
  lastSeenMs: number;
  createdMs: number;
  publicKey: string;
}

export function deviceJson(d: Device): DeviceJson {
  return {
    id: d.id,
    status: statusName(d.status),
    identity: sorted(d.identity),
    inventory: sorted(d.inventory),
    online: d.online,
    lastSeenMs: d.lastSeenMs,
    createdMs: d.createdMs,
    publicKey: Buffer.from(d.publicKey).toString('hex'),
  };
}

function sorted(map: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function deviceType(d: Device): string {
  return d.identity.device_type ?? d.inventory.device_type ?? '';
}

export function deviceOs(d: Device): string {
  const inv = d.inventory;
  return inv['os.pretty_name'] ?? [inv['os.id'], inv['os.version_id']].filter(Boolean).join(' ');
}

export function deviceTable(devices: readonly Device[], useColor: boolean, now = Date.now()): string {
  const rows = devices.map((d) => [d.id, statusName(d.status), d.online ? 'yes' : 'no', deviceType(d), deviceOs(d), relativeTime(d.lastSeenMs, now)]);
  const color = (column: number, value: string): Color | undefined => {
    if (column === 1) return value === 'accepted' ? 'green' : value === 'pending' ? 'yellow' : 'red';
    if (column === 2) return value === 'yes' ? 'green' : 'dim';
    return undefined;
  };
  return table(['ID', 'STATUS', 'ONLINE', 'TYPE', 'OS', 'LAST SEEN'], rows, { color, useColor });
}

export function deviceDetails(d: Device, now = Date.now()): string {
  const when = (ms: number) => (ms ? `${new Date(ms).toISOString()} (${relativeTime(ms, now)})` : 'never');
  const facts = {
    id: d.id,
    status: statusName(d.status),
    online: d.online ? 'yes' : 'no',
    'last seen': when(d.lastSeenMs),
    created: when(d.createdMs),
    'public key': Buffer.from(d.publicKey).toString('hex'),
  };
  const section = (title: string, values: Record<string, string>) => `${title}\n${Object.keys(values).length ? keyValueLines(sorted(values)) : '  (none)\n'}`;
  return `${keyValueLines(facts, '')}${section('identity', d.identity)}${section('inventory', d.inventory)}`;
}
