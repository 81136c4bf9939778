import { status, type Metadata } from '@grpc/grpc-js';
import { checkDeviceToken } from '../auth/device-token';
import { bearerToken } from '../auth/operator-auth';
import { RpcError } from '../rpc-error';
import type { HubStore } from '../store/store';

/**
 * The accepted device whose token the call carries, or the error to answer
 * with. Only its admission status is read (every Connect, Download and
 * Channel call asks: the whole record with its inventory parsed from JSON
 * was ~5 % of the hub's CPU while 10,000 devices downloaded).
 */
export async function authenticateDevice(store: HubStore, metadata: Metadata): Promise<{ id: string }> {
  const auth = checkDeviceToken(store.secret, bearerToken(metadata));
  if (!auth.ok) throw new RpcError(status.UNAUTHENTICATED, auth.reason);
  const admission = await store.deviceStatus(auth.deviceId);
  if (!admission) throw new RpcError(status.UNAUTHENTICATED, `device ${auth.deviceId} is unknown to this hub: enroll again`);
  if (admission !== 'accepted') {
    throw new RpcError(status.PERMISSION_DENIED, `device ${auth.deviceId} is ${admission}: an operator must accept it before it can connect`);
  }
  return { id: auth.deviceId };
}
