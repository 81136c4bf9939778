import { useSyncExternalStore } from 'react';

// Hash routes, so the built renderer works from file:// (Electron) and from
// the bridge alike: #/devices, #/devices/<id>, #/artifacts, #/connection.
export type Route = { view: 'devices' } | { view: 'device'; id: string } | { view: 'artifacts' } | { view: 'connection' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const device = /^\/devices\/(.+)$/.exec(path);
  if (device) {
    try {
      return { view: 'device', id: decodeURIComponent(device[1]) };
    } catch {
      return { view: 'devices' };
    }
  }
  if (path === '/artifacts') return { view: 'artifacts' };
  if (path === '/connection') return { view: 'connection' };
  return { view: 'devices' };
}

export const deviceHref = (id: string) => `#/devices/${encodeURIComponent(id)}`;

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => location.hash);
  return parseRoute(hash);
}
