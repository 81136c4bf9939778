import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../tests/support/processes';

export interface FleetctlRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs the real bin/fleetctl.js for end-to-end tests: no FLEET_* from the
 * outer environment, its own config file, no colours, killed after 30 s.
 */
export function runFleetctl(args: string[], configFile: string, env: Record<string, string> = {}): Promise<FleetctlRun> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET')));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), ...args], {
      cwd: repoRoot,
      env: { ...clean, FLEETCTL_CONFIG: configFile, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}
