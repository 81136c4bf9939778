import { mkdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { parseRemoteConfig, type RemoteConfig } from '../remote/remote-config';

// Remote sessions of simulated devices: one `remote` section (the agent
// config's, in its JSON form) for every device, where a relative file root
// is a folder inside each device's own state folder — so the simulated
// devices of one process do not share (or see) each other's files.

/** The `remote` section of the agent config as JSON (docs/remote-sessions.md lists every field). */
export interface SimRemoteConfig {
  shell?: { enabled?: boolean; command?: string | string[]; user?: string; maxSessions?: number; maxSessionsPerOperator?: number; idleTimeoutSeconds?: number };
  /** `roots`: absolute folders, or folders relative to each device's state folder (made when the device starts). */
  files?: { enabled?: boolean; roots?: string[]; allowNonRegular?: boolean; maxFileBytes?: number; bytesPerMinute?: number; uploadOwner?: string; uploadGroup?: string; uploadMode?: string };
  portForward?: { enabled?: boolean; allow?: string[] };
}

export interface DeviceRemoteConfig {
  config: RemoteConfig;
  /** The device's own root folders (from relative roots), to create before serving. */
  ownRoots: string[];
}

/** Validates the section for one device (throws with the field named); undefined = everything off. */
export function deviceRemoteConfig(json: SimRemoteConfig | undefined, deviceDir: string): DeviceRemoteConfig {
  if (json === undefined) return { config: parseRemoteConfig(undefined), ownRoots: [] };
  const roots = json.files?.roots;
  const ownRoots = Array.isArray(roots) ? roots.filter((r) => typeof r === 'string' && r !== '' && !isAbsolute(r)).map((r) => join(deviceDir, r)) : [];
  const files = json.files && Array.isArray(roots) ? { ...json.files, roots: roots.map((r) => (typeof r === 'string' && r !== '' && !isAbsolute(r) ? join(deviceDir, r) : r)) } : json.files;
  return { config: parseRemoteConfig({ ...json, ...(files ? { files } : {}) }, 'remote'), ownRoots };
}

/** Makes the device's own root folders. */
export async function makeOwnRoots(remote: DeviceRemoteConfig): Promise<void> {
  for (const dir of remote.ownRoots) await mkdir(dir, { recursive: true });
}
