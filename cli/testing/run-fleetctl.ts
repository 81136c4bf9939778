import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../tests/support/processes';

export interface FleetctlRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunningFleetctl {
  /** what it printed so far */
  stdout(): string;
  stderr(): string;
  done: Promise<FleetctlRun>;
}

/**
 * Starts the real bin/fleetctl.js for end-to-end tests: no FLEET_* from the
 * outer environment, its own config file, no colours, killed after 30 s.
 * Its output can be read while it runs (e.g. `deployments show --watch`).
 */
export function startFleetctl(args: string[], configFile: string, env: Record<string, string> = {}): RunningFleetctl {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
  const started = Date.now();
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), ...args], {
    cwd: repoRoot,
    env: { ...clean, FLEETCTL_CONFIG: configFile, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<FleetctlRun>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs fleetctl to the end (see startFleetctl). */
export function runFleetctl(args: string[], configFile: string, env: Record<string, string> = {}): Promise<FleetctlRun> {
  return startFleetctl(args, configFile, env).done;
}
