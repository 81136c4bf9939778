import { status } from '@grpc/grpc-js';
import { RpcError } from '../rpc-error';

// ListDevices page tokens are opaque to callers: base64url of a tiny JSON.

export function encodePageToken(afterId: string): string {
  return Buffer.from(JSON.stringify({ a: afterId }), 'utf8').toString('base64url');
}

export function decodePageToken(token: string): string | undefined {
  if (!token) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed?.a === 'string') return parsed.a;
  } catch {
    // fall through to the error below
  }
  throw new RpcError(status.INVALID_ARGUMENT, 'page_token is not one this hub issued: start again without it');
}
