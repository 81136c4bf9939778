import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { PortForwardConfig, PortRule } from './remote-config';
import { RemoteError } from './remote-error';

// Which host:port a tunnel may reach. The requested host is resolved once
// here and the connection goes to exactly the address that matched, so a
// name that resolves differently a moment later (DNS rebinding) cannot
// reach anything else. `localhost` means the loopback addresses (RFC 6761)
// and is never sent to DNS, on either side of the comparison.

export interface AllowedTarget {
  /** The IP address to dial. */
  address: string;
  port: number;
  /** The rule that allowed it. */
  rule: string;
}

export type Resolver = (host: string) => Promise<string[]>;

export const dnsResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** `::ffff:1.2.3.4` → `1.2.3.4`; lower-case IPv6. */
export function normalizeAddress(address: string): string {
  const a = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1] : a;
}

export function isLoopback(address: string): boolean {
  const a = normalizeAddress(address);
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

async function addressesOf(host: string, resolve: Resolver): Promise<string[]> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare)) return [normalizeAddress(bare)];
  if (isLocalhostName(bare.toLowerCase())) return ['127.0.0.1', '::1'];
  return (await resolve(bare)).map(normalizeAddress);
}

async function ruleMatches(rule: PortRule, address: string, port: number, resolve: Resolver): Promise<boolean> {
  if (rule.port !== 0 && rule.port !== port) return false;
  if (rule.host === '*') return true;
  if (isIP(rule.host)) return normalizeAddress(rule.host) === address;
  if (isLocalhostName(rule.host)) return isLoopback(address);
  try {
    return (await resolve(rule.host)).map(normalizeAddress).includes(address);
  } catch {
    return false; // a rule whose name does not resolve allows nothing
  }
}

/** Resolves `host` and returns the first address an allow rule covers; throws disabled / not-allowed. */
export async function checkPortTarget(config: PortForwardConfig, host: string, port: number, resolve: Resolver = dnsResolver): Promise<AllowedTarget> {
  if (!config.enabled) throw new RemoteError('disabled', 'port forwarding is disabled on this device (set remote.portForward.enabled in the agent config)');
  const allowed = config.allow.map((r) => r.text).join(', ') || '(none)';
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RemoteError('not-allowed', `port ${port} is not a TCP port (1-65535)`);
  if (typeof host !== 'string' || !/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+|[A-Za-z0-9.-]{1,253})$/.test(host)) throw new RemoteError('not-allowed', `host ${JSON.stringify(host)} is not a host name or IP address`);
  let addresses: string[];
  try {
    addresses = await addressesOf(host, resolve);
  } catch (err) {
    throw new RemoteError('connect-failed', `cannot resolve ${host} on the device (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  for (const address of addresses) {
    for (const rule of config.allow) {
      if (await ruleMatches(rule, address, port, resolve)) return { address, port, rule: rule.text };
    }
  }
  throw new RemoteError('not-allowed', `${host}:${port} is not in this device's port-forward allow list (${allowed}); add it to remote.portForward.allow`);
}
