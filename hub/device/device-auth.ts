import { status, type Metadata } from '@grpc/grpc-js';
import { checkDeviceToken } from '../auth/device-token';
import { bearerToken } from '../auth/operator-auth';
import { RpcError } from '../rpc-error';
import type { DeviceRecord, HubStore } from '../store/store';

/** The accepted device whose token the call carries, or the error to answer with. */
export async function authenticateDevice(store: HubStore, metadata: Metadata): Promise<DeviceRecord> {
  const auth = checkDeviceToken(store.secret, bearerToken(metadata));
  if (!auth.ok) throw new RpcError(status.UNAUTHENTICATED, auth.reason);
  const device = await store.getDevice(auth.deviceId);
  if (!device) throw new RpcError(status.UNAUTHENTICATED, `device ${auth.deviceId} is unknown to this hub: enroll again`);
  if (device.status !== 'accepted') {
    throw new RpcError(status.PERMISSION_DENIED, `device ${device.id} is ${device.status}: an operator must accept it before it can connect`);
  }
  return device;
}
