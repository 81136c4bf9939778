import { Metadata, status } from '@grpc/grpc-js';
import { RpcError } from '../rpc-error';
import type { HubStore, Operator, OperatorRole } from '../store/store';

const RANK: Record<OperatorRole, number> = { viewer: 1, operator: 2, admin: 3 };

/** The token of `authorization: Bearer <token>`, if present. */
export function bearerToken(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return m?.[1];
}

export async function authenticateOperator(store: HubStore, metadata: Metadata): Promise<Operator> {
  const token = bearerToken(metadata);
  if (!token) throw new RpcError(status.UNAUTHENTICATED, 'no operator token: send "authorization: Bearer <token>" (the admin token is in the hub data folder, admin.token)');
  const operator = await store.operatorByToken(token);
  if (!operator) throw new RpcError(status.UNAUTHENTICATED, 'operator token not recognized by this hub');
  return operator;
}

export function requireRole(operator: Operator, needed: OperatorRole, action: string): void {
  if (RANK[operator.role] < RANK[needed]) {
    throw new RpcError(status.PERMISSION_DENIED, `${action} needs the ${needed} role (or higher); operator "${operator.name}" is ${operator.role}`);
  }
}
