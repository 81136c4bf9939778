// The bridge prints its URL as http://127.0.0.1:PORT/#secret=...: the fragment
// never leaves the browser. The page keeps the secret for this tab only
// (sessionStorage, so a reload works) and removes it from the address bar,
// which the hash router uses from then on.

const KEY = 'fleet.bridge.secret';

export function readBridgeSecret(): string {
  const match = /^#secret=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(KEY, match[1]);
    history.replaceState(null, '', `${location.pathname}${location.search}#/devices`);
    return match[1];
  }
  return sessionStorage.getItem(KEY) ?? '';
}
