import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, waitFor } from '../tests/support/processes';

// A real `fleetctl port-forward DEVICE 0:127.0.0.1:PORT` for the tunnel
// benchmarks: started at once, its local port read from its first line.

export interface FleetctlForward {
  child: ChildProcess;
  /** The local port, once fleetctl says it listens (its output in the error otherwise). */
  listening(): Promise<number>;
  stop(): void;
}

export function startFleetctlForward(device: string, targetPort: number, flags: string[]): FleetctlForward {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'fleetctl.js'), 'port-forward', device, `0:127.0.0.1:${targetPort}`, ...flags], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return {
    child,
    listening: async () =>
      Number(
        await waitFor('fleetctl port-forward to listen', () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 20_000, 50).catch((err: Error) => {
          throw new Error(`${err.message}\n${out}`);
        }),
      ),
    stop: () => child.kill('SIGTERM'),
  };
}
