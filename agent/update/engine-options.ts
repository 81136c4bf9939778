import type { Manifest } from '../../artifact';
import type { Bootloader } from '../bootloader/bootloader';
import type { BackoffOptions } from '../backoff';
import type { ChunkStream } from './download';
import type { HealthCheck } from './health-checks';
import type { HookRunner } from './hooks';
import type { InstallerRegistry } from './installer';

// Everything the update engine needs from its host (the real agent's CLI or
// the simulator), so the engine itself knows no device specifics.

export interface HookRunnerRequest {
  /** The deployment's folder. */
  dir: string;
  /** Where the artifact's hook payloads were stored (file name = payload index). */
  artifactHooksDir: string;
  /** The verified manifest (its `hooks` map names the payload of each hook); absent before verification. */
  manifest?: Manifest;
  log(line: string): void;
}

export interface UpdateEngineOptions {
  /** The agent's state dir; the engine keeps its files in stateDir/update. */
  stateDir: string;
  deviceType: string;
  /** SPKI PEM public keys whose artifact signatures are accepted. No keys: every artifact is refused. */
  trustedKeys: readonly string[];
  installers: InstallerRegistry;
  /** The device's bootloader (made when first needed); absent: no rootfs updates. */
  bootloader?: () => Promise<Bootloader>;
  hooks?: (request: HookRunnerRequest) => HookRunner;
  /** Checks after a reboot into a new system (the hub's reachability is always checked). */
  healthChecks?: HealthCheck[];
  /** Time for all health checks together, from entering Verify (default 5 min). */
  healthTimeoutMs?: number;
  /** Asks for a reboot; resolves once asked (the reboot follows). */
  reboot(): Promise<void>;
  /** Identifies the current boot. */
  bootId(): Promise<string>;
  /** Provides of a device that never installed an artifact. */
  factoryProvides?: Record<string, string>;
  /** Opens an artifact download from `offset` (the agent's connection and token); `size` is the announced artifact size (0: unknown). */
  download(artifactId: string, offset: number, size: number): ChunkStream;
  /** fsync state and downloads (default true). */
  durable?: boolean;
  /** Free bytes in a folder (default: statfs). */
  freeSpace?: (dir: string) => Promise<number>;
  /** Called when what the device provides changed (new inventory). */
  onProvidesChanged?: () => void;
  downloadSyncEvery?: number;
  downloadBackoff?: BackoffOptions;
  /** Minimum time between progress reports (default 1 s). */
  progressIntervalMs?: number;
  log?: (line: string) => void;
}
