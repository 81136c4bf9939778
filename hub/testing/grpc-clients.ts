import * as grpc from '@grpc/grpc-js';
import { ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';

// Tiny real gRPC clients for hub tests: TLS trusting the hub's own
// certificate, with normal host-name verification against its SAN.

export interface HubEndpoint {
  address: string;
  certPem: string;
}

export function hubCredentials(hub: HubEndpoint): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(hub.certPem));
}

export function consoleClient(hub: HubEndpoint): ConsoleServiceClient {
  return new ConsoleServiceClient(hub.address, hubCredentials(hub));
}

export function deviceClient(hub: HubEndpoint): DeviceServiceClient {
  return new DeviceServiceClient(hub.address, hubCredentials(hub));
}

export function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

type UnaryMethod<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

/** Promisified unary call with a deadline; rejects with the grpc ServiceError. */
export function call<Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, req: Req, md = new grpc.Metadata(), timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, md, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Resolves with the error a promise rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Polls `check` until it returns a truthy value or the time is up. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
