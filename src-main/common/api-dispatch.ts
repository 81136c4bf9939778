import { CONSOLE_API_METHODS, type ConsoleApi, type ConsoleApiMethod } from './console-api';

const allowed = new Set<string>(CONSOLE_API_METHODS);

export class ApiDispatchError extends Error {}

// The server half of the generic transport: routes "namespace.method" to the
// implementation. Only listed methods are callable, so a caller can never
// reach prototypes or anything else on the object.
export async function dispatchApiCall(impl: ConsoleApi, method: string, args: unknown): Promise<unknown> {
  if (typeof method !== 'string' || !allowed.has(method)) throw new ApiDispatchError(`unknown method: ${String(method)}`);
  if (!Array.isArray(args)) throw new ApiDispatchError(`arguments of ${method} must be an array`);
  const [ns, name] = (method as ConsoleApiMethod).split('.') as [keyof ConsoleApi, string];
  const target = impl[ns] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  return target[name](...args);
}
