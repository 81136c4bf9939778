import { useSyncExternalStore } from 'react';

// Hash routes, so the built renderer works from file:// (Electron) and from
// the bridge alike: #/devices, #/devices/<id>, #/artifacts, #/deployments,
// #/deployments/<id>, #/connection.
export type Route =
  | { view: 'devices' }
  | { view: 'device'; id: string }
  | { view: 'artifacts' }
  | { view: 'deployments' }
  | { view: 'deployment'; id: string }
  | { view: 'connection' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const device = /^\/devices\/(.+)$/.exec(path);
  if (device) {
    const id = decodePart(device[1]);
    return id === null ? { view: 'devices' } : { view: 'device', id };
  }
  const deployment = /^\/deployments\/(.+)$/.exec(path);
  if (deployment) {
    const id = decodePart(deployment[1]);
    return id === null ? { view: 'deployments' } : { view: 'deployment', id };
  }
  if (path === '/artifacts') return { view: 'artifacts' };
  if (path === '/deployments') return { view: 'deployments' };
  if (path === '/connection') return { view: 'connection' };
  return { view: 'devices' };
}

function decodePart(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export const deviceHref = (id: string) => `#/devices/${encodeURIComponent(id)}`;
export const deploymentHref = (id: string) => `#/deployments/${encodeURIComponent(id)}`;

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => location.hash);
  return parseRoute(hash);
}
