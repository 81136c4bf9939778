import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write';
import type { UpdateState } from './update-state';

// stateDir/update/state.json (the deployment in progress or finished last)
// and stateDir/update/provides.json (what the device runs, by artifact
// group). Both are replaced atomically: temp, fsync, rename, fsync folder.
// Writes are queued so two never race for the same temp file.

export const UPDATE_DIR = 'update';

export class StateStore {
  readonly dir: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    stateDir: string,
    private readonly durable = true,
  ) {
    this.dir = join(stateDir, UPDATE_DIR);
  }

  /** The deployment's own folder (artifact, payload work folders). */
  deploymentDir(deploymentId: string): string {
    return join(this.dir, safeName(deploymentId));
  }

  async load(): Promise<UpdateState | null> {
    const file = join(this.dir, 'state.json');
    const text = await readOptional(file);
    if (text === null) return null;
    try {
      const state = JSON.parse(text) as UpdateState;
      if (state.format !== 1 || !state.order?.deploymentId) throw new Error('unknown format');
      return state;
    } catch (err) {
      throw new Error(`update state ${file} is unreadable (${(err as Error).message}); move it away to forget the deployment`);
    }
  }

  /** Writes the state as it is when the write runs; resolves once it is on disk. */
  save(state: UpdateState): Promise<void> {
    return this.serial(async () => {
      await mkdir(this.dir, { recursive: true });
      await writeFileAtomic(join(this.dir, 'state.json'), JSON.stringify(state), 0o600, { durable: this.durable });
    });
  }

  async loadProvides(): Promise<Record<string, string> | null> {
    const text = await readOptional(join(this.dir, 'provides.json'));
    return text === null ? null : (JSON.parse(text) as Record<string, string>);
  }

  saveProvides(provides: Record<string, string>): Promise<void> {
    return this.serial(async () => {
      await mkdir(this.dir, { recursive: true });
      await writeFileAtomic(join(this.dir, 'provides.json'), JSON.stringify(provides, null, 1), 0o644, { durable: this.durable });
    });
  }

  /** Resolves once every queued write is done. */
  async flush(): Promise<void> {
    await this.queue;
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Deployment ids come from the hub: keep them to a safe folder name. */
export function safeName(id: string): string {
  const clean = id.replace(/[^A-Za-z0-9._-]/g, '_');
  return clean === '' || clean === '.' || clean === '..' ? `d_${Buffer.from(id).toString('hex')}` : clean;
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
