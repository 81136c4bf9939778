import { CONSOLE_API_METHODS, type ApiTransport, type FleetWindowApi } from './console-api';

// Builds the nested `window.fleet` object over any transport. Plain objects
// and functions only (no Proxy) so Electron's contextBridge can clone it.
export function createApiClient(transport: ApiTransport): FleetWindowApi {
  const api: Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>> = {};
  for (const method of CONSOLE_API_METHODS) {
    const [ns, name] = method.split('.');
    api[ns] ??= {};
    api[ns][name] = (...args: unknown[]) => transport.invoke(method, args);
  }
  return { ...(api as unknown as FleetWindowApi), onEvent: (listener) => transport.onEvent(listener) };
}
