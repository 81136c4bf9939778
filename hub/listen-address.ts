/** HOST:PORT as the hub accepts it on --listen; IPv6 hosts in brackets ([::1]:7443). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`listen address must be HOST:PORT (e.g. 127.0.0.1:7443 or [::1]:7443), got "${listen}"`);
  return { host: m[1] ?? m[2], port };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
