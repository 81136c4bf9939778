import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from './cli-error';

// Saved contexts, like kubectl's config: each names a hub, the operator token
// and the hub certificate (PEM inline, so the file is self-contained). The
// file holds tokens, so it is written with mode 0600 (dir 0700).

export interface HubContext {
  hub: string;
  token: string;
  caPem: string;
  fingerprint: string;
}

export interface FleetctlConfig {
  'current-context': string;
  contexts: Record<string, HubContext>;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLEETCTL_CONFIG || join(homedir(), '.config', 'fleetctl', 'config.json');
}

export function emptyConfig(): FleetctlConfig {
  return { 'current-context': '', contexts: {} };
}

export function loadConfig(path: string): FleetctlConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyConfig();
    throw new UsageError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as Partial<FleetctlConfig>;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.contexts !== 'object' || parsed.contexts === null) throw new Error('no "contexts" object');
    return { 'current-context': parsed['current-context'] ?? '', contexts: parsed.contexts };
  } catch (err) {
    throw new UsageError(`config ${path} is not valid: ${(err as Error).message}: fix or delete it, then run fleetctl login`);
  }
}

/** Atomic write (temp + rename) so a crash never leaves half a config. */
export function saveConfig(path: string, config: FleetctlConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600); // `mode` applies only on creation: a stale temp file keeps its old mode
  renameSync(temp, path);
}

/** Where each connection setting comes from, highest first. */
export interface TargetSources {
  flags: { hub?: string; token?: string; caFile?: string; context?: string };
  env: NodeJS.ProcessEnv;
  config: FleetctlConfig;
  /** reads --ca / FLEET_CA files (injected for tests) */
  readCa: (file: string) => { pem: string; fingerprint: string };
}

export interface ResolvedTarget {
  hub: string;
  token: string;
  caPem: string;
  fingerprint: string;
  /** where the trusted certificate came from, for error messages */
  trustSource: string;
  /** the saved context used, if any */
  context?: string;
}

/**
 * Flags win over FLEET_* variables, which win over the saved context; each
 * setting is resolved on its own, except that the certificate and its
 * fingerprint always come from the same place.
 */
export function resolveTarget({ flags, env, config, readCa }: TargetSources): ResolvedTarget {
  const contextName = flags.context ?? config['current-context'];
  const saved = contextName ? config.contexts[contextName] : undefined;
  if (flags.context && !saved) throw new UsageError(`no saved context named "${flags.context}": see fleetctl contexts`);

  const hub = flags.hub || env.FLEET_HUB || saved?.hub;
  if (!hub) throw new UsageError('no hub given: use --hub HOST:PORT, FLEET_HUB or fleetctl login');
  const token = flags.token || env.FLEET_TOKEN || saved?.token;
  if (!token) throw new UsageError('no token given: use --token, FLEET_TOKEN or fleetctl login');

  const caFile = flags.caFile || env.FLEET_CA;
  let trust: { pem: string; fingerprint: string; source: string } | undefined;
  if (caFile) trust = { ...readCa(caFile), source: flags.caFile ? `--ca ${caFile}` : `FLEET_CA=${caFile}` };
  else if (saved?.caPem) trust = { pem: saved.caPem, fingerprint: saved.fingerprint, source: `context "${contextName}"` };
  if (!trust) throw new UsageError("no hub certificate to trust: use --ca FILE (the hub's DATA/hub.crt), FLEET_CA or fleetctl login");

  return { hub, token, caPem: trust.pem, fingerprint: trust.fingerprint, trustSource: trust.source, context: saved ? contextName : undefined };
}
