import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type HubOptions, type RunningHub } from '../hub';

// A real hub on 127.0.0.1 with a throw-away data folder, for tests.

export interface TestHub {
  hub: RunningHub;
  dir: string;
  /** Starts a fresh hub on the same folder (after close). */
  restart(overrides?: Partial<HubOptions>): Promise<RunningHub>;
  /** Closes the hub and deletes its folder. */
  dispose(): Promise<void>;
}

export function makeTempDir(prefix = 'fleet-hub-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestHub(overrides: Partial<HubOptions> = {}): Promise<TestHub> {
  const dir = overrides.dataDir ?? makeTempDir();
  const options: HubOptions = { dataDir: dir, listen: '127.0.0.1:0', ...overrides };
  const lines: string[] = [];
  options.log ??= (line) => lines.push(line);
  const test: TestHub = {
    hub: await startHub(options),
    dir,
    async restart(more = {}) {
      await test.hub.close();
      test.hub = await startHub({ ...options, ...more });
      return test.hub;
    },
    async dispose() {
      await test.hub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return test;
}
