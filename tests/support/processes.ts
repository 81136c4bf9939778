import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Real programs for system tests and benchmarks: the npm bins started as
// child processes on loopback, exactly as an operator would start them.

export const repoRoot = resolve(import.meta.dirname, '../..');

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `fleet-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** Polls `probe` until it returns a truthy value, or fails saying what never happened (and the last error). */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Program {
  child: ChildProcess;
  /** everything the program printed so far (stdout + stderr) */
  output(): string;
  /** resolves with the exit code (or signal name) */
  exited: Promise<number | string>;
  kill9(): Promise<number | string>;
  stop(): Promise<number | string>;
}

/** Programs still running: killed when the test process exits, so a test that times out before its clean-up leaves none behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A program that has not ended this long after SIGTERM gets SIGKILL. */
const STOP_GRACE_MS = 15_000;

export function startProgram(bin: 'fleet-hub' | 'fleet-agent' | 'fleetctl', args: string[], env: NodeJS.ProcessEnv = {}): Program {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', `${bin}.js`), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  running.add(child);
  const exited = new Promise<number | string>((done) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      done(code ?? signal ?? -1);
    }),
  );
  const signal = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    return exited;
  };
  const stop = async (): Promise<number | string> => {
    const escalate = setTimeout(() => void signal('SIGKILL'), STOP_GRACE_MS);
    try {
      return await signal('SIGTERM');
    } finally {
      clearTimeout(escalate);
    }
  };
  return { child, output: () => out, exited, kill9: () => signal('SIGKILL'), stop };
}

export interface HubProgram extends Program {
  address: string;
  dataDir: string;
  certPem: string;
  adminToken: string;
}

/** Starts `fleet-hub` and waits until it has written its files and listens. */
export async function startHubProgram(dataDir: string, port: number, extraArgs: string[] = []): Promise<HubProgram> {
  const address = `127.0.0.1:${port}`;
  const program = startProgram('fleet-hub', ['--data', dataDir, '--listen', address, ...extraArgs]);
  let exitedEarly: number | string | undefined;
  void program.exited.then((code) => (exitedEarly = code));
  await waitFor(
    `fleet-hub on ${address}`,
    () => {
      if (exitedEarly !== undefined) throw new Error(`fleet-hub exited (${exitedEarly}):\n${program.output()}`);
      return program.output().includes(address) && existsSync(join(dataDir, 'admin.token'));
    },
    30_000,
  );
  return {
    ...program,
    address,
    dataDir,
    certPem: readFileSync(join(dataDir, 'hub.crt'), 'utf8'),
    adminToken: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim(),
  };
}
