import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';

/** An error meant for the caller, with its gRPC status code. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What a handler hands to grpc-js. Unexpected errors become INTERNAL with
 * their message (the hub's own errors are written for people), and are logged.
 */
export function toServiceError(err: unknown, log: (line: string) => void, what: string): Partial<ServiceError> {
  if (err instanceof RpcError) return { code: err.code, details: err.message, metadata: new Metadata() };
  const message = err instanceof Error ? err.message : String(err);
  log(`${what} failed: ${message}`);
  return { code: status.INTERNAL, details: `${what} failed on the hub: ${message}`, metadata: new Metadata() };
}
