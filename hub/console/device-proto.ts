import { status } from '@grpc/grpc-js';
import { AdmissionStatus, type Device } from '../../proto/gen/fleet/v1/common';
import { Role } from '../../proto/gen/fleet/v1/console';
import { RpcError } from '../rpc-error';
import type { DeviceRecord, DeviceStatus, OperatorRole } from '../store/store';

// Conversions between the store's records and the protocol's messages.

export function toProtoDevice(d: DeviceRecord): Device {
  return {
    id: d.id,
    status: statusToProto(d.status),
    identity: d.identity,
    publicKey: d.publicKey,
    inventory: d.inventory,
    online: d.online,
    lastSeenMs: d.lastSeenMs,
    createdMs: d.createdMs,
    updatedMs: d.updatedMs,
    revision: d.revision,
  };
}

export function statusToProto(s: DeviceStatus): AdmissionStatus {
  switch (s) {
    case 'pending':
      return AdmissionStatus.ADMISSION_STATUS_PENDING;
    case 'accepted':
      return AdmissionStatus.ADMISSION_STATUS_ACCEPTED;
    case 'rejected':
      return AdmissionStatus.ADMISSION_STATUS_REJECTED;
  }
}

/** UNSPECIFIED means "any" and gives undefined; unknown values are refused. */
export function statusFromProto(s: AdmissionStatus): DeviceStatus | undefined {
  switch (s) {
    case AdmissionStatus.ADMISSION_STATUS_UNSPECIFIED:
      return undefined;
    case AdmissionStatus.ADMISSION_STATUS_PENDING:
      return 'pending';
    case AdmissionStatus.ADMISSION_STATUS_ACCEPTED:
      return 'accepted';
    case AdmissionStatus.ADMISSION_STATUS_REJECTED:
      return 'rejected';
    default:
      throw new RpcError(status.INVALID_ARGUMENT, `unknown admission status ${s}`);
  }
}

export function roleToProto(role: OperatorRole): Role {
  return { viewer: Role.ROLE_VIEWER, operator: Role.ROLE_OPERATOR, admin: Role.ROLE_ADMIN }[role];
}
