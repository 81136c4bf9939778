import { status } from '@grpc/grpc-js';
import { RpcError } from './rpc-error';

// Size limits on what devices and operators may store on the hub. They keep a
// single device from filling the database or the Watch feed.

export const IDENTITY_LIMITS = { maxAttributes: 32, maxKey: 128, maxValue: 1024 };
export const INVENTORY_LIMITS = { maxAttributes: 1000, maxKey: 256, maxValue: 4096 };

interface Limits {
  maxAttributes: number;
  maxKey: number;
  maxValue: number;
}

function checkAttributes(what: string, attributes: Record<string, string>, limits: Limits): void {
  const keys = Object.keys(attributes);
  if (keys.length > limits.maxAttributes) {
    throw new RpcError(status.INVALID_ARGUMENT, `${what} has ${keys.length} attributes; at most ${limits.maxAttributes} are allowed`);
  }
  for (const key of keys) {
    if (key.length === 0) throw new RpcError(status.INVALID_ARGUMENT, `${what} has an attribute with an empty name`);
    if (key.length > limits.maxKey) {
      throw new RpcError(status.INVALID_ARGUMENT, `${what} attribute name "${key.slice(0, 40)}..." is ${key.length} characters; at most ${limits.maxKey}`);
    }
    if (attributes[key].length > limits.maxValue) {
      throw new RpcError(status.INVALID_ARGUMENT, `${what} attribute "${key}" is ${attributes[key].length} characters; at most ${limits.maxValue}`);
    }
  }
}

export function checkIdentity(identity: Record<string, string>): void {
  checkAttributes('identity', identity, IDENTITY_LIMITS);
  if (!identity.device_type) throw new RpcError(status.INVALID_ARGUMENT, 'identity must include a non-empty "device_type" attribute');
}

export function checkInventory(attributes: Record<string, string>): void {
  checkAttributes('inventory report', attributes, INVENTORY_LIMITS);
}
