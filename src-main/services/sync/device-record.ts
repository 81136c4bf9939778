import type { AdmissionStatus as ApiStatus, Role as ApiRole } from '../../common/console-api';
import { AdmissionStatus, type Device } from '../../../proto/gen/fleet/v1/common';
import { Role } from '../../../proto/gen/fleet/v1/console';
import type { DeviceRecord } from '../cache/device-cache';

// Translation between the hub's protobuf shapes and the console's API shapes.

export function statusFromProto(status: AdmissionStatus): ApiStatus {
  switch (status) {
    case AdmissionStatus.ADMISSION_STATUS_ACCEPTED:
      return 'accepted';
    case AdmissionStatus.ADMISSION_STATUS_REJECTED:
      return 'rejected';
    default:
      // The hub never sends UNSPECIFIED for a device; waiting is the safe reading.
      return 'pending';
  }
}

export function statusToProto(status: ApiStatus): AdmissionStatus {
  return {
    pending: AdmissionStatus.ADMISSION_STATUS_PENDING,
    accepted: AdmissionStatus.ADMISSION_STATUS_ACCEPTED,
    rejected: AdmissionStatus.ADMISSION_STATUS_REJECTED,
  }[status];
}

export function roleFromProto(role: Role): ApiRole | '' {
  switch (role) {
    case Role.ROLE_ADMIN:
      return 'admin';
    case Role.ROLE_OPERATOR:
      return 'operator';
    case Role.ROLE_VIEWER:
      return 'viewer';
    default:
      return '';
  }
}

export function deviceRecord(d: Device, hubId: string): DeviceRecord {
  return {
    id: d.id,
    hubId,
    status: statusFromProto(d.status),
    online: d.online,
    deviceType: d.identity.device_type ?? d.inventory.device_type ?? '',
    os: d.inventory['os.pretty_name'] ?? '',
    lastSeenMs: d.lastSeenMs,
    createdMs: d.createdMs,
    revision: d.revision,
    identity: { ...d.identity },
    inventory: { ...d.inventory },
    publicKey: Buffer.from(d.publicKey ?? []).toString('hex'),
  };
}
