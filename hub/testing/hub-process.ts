import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Runs the real `fleet-hub` program (bin/fleet-hub.js) as a child process.

const BIN = fileURLToPath(new URL('../../bin/fleet-hub.js', import.meta.url));

export interface HubProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | string>;
}

export function runHubProcess(args: string[]): HubProcess {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => out, exited };
}

/** Waits for the banner (stdout) and returns the address the hub listens on. */
export async function waitForListening(hub: HubProcess, timeoutMs = 30_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    // Not the log line on stderr (`fleet-hub: hub <id> listening on …`), which
    // can come first: the banner goes on with the certificate and token paths.
    const m = /^fleet-hub [0-9a-f]+ listening on (\S+)\n/m.exec(hub.output());
    if (m) return m[1];
    if (hub.child.exitCode !== null) throw new Error(`fleet-hub exited with ${hub.child.exitCode}:\n${hub.output()}`);
    if (Date.now() > until) throw new Error(`fleet-hub did not start within ${timeoutMs} ms:\n${hub.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ends the process if it still runs (used in test clean-up). */
export async function stopHubProcess(hub: HubProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!hub || hub.child.exitCode !== null || hub.child.signalCode !== null) return;
  hub.child.kill(signal);
  await hub.exited;
}
