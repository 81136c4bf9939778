// The `app` payload installer: a file tree (artifact/ packTree's ustar)
// installed as appsDir/<app>/releases/<release> and activated by switching
// the appsDir/<app>/current symlink with one rename, so an application always
// sees either the old or the new release, whatever instant the power fails.
//
//   store    extract into releases/<release>.partial (a leftover one is removed
//            first), fsync it, rename it to releases/<release>
//   install  remember where `current` pointed (workDir/app-previous.json,
//            written once), then current.new -> releases/<release>, rename it
//            over `current`, fsync the app folder
//   commit   prune releases, keeping the current and the previous one
//   rollback point `current` back at the previous release (or remove it when
//            there was none); nothing to do when install never ran
//   cleanup  remove partial releases, a stray current.new, and this
//            deployment's release unless it is what runs
//
// <app> is the payload meta's "app" (a plain name) or else the artifact name;
// <release> is the artifact version, or <version>@<12 hex of the payload
// sha256> when that version is the one running (a forced reinstall must not
// write into the live release).
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { compareVersions, extractTree, isValidVersion, type Manifest, type PayloadInfo } from '../../../artifact';
import { writeFileAtomic } from '../../atomic-write';
import type { InstallContext, PayloadInstaller } from '../installer';

export interface AppInstallerOptions {
  /** Root of the installed applications: <appsDir>/<app>/{releases/,current}. */
  appsDir: string;
  /** Releases kept by commit(), counting the current and the previous one (at least 2, the default). */
  keepReleases?: number;
  /** fsync files and folders (default true); false for simulated devices whose power never fails. */
  durable?: boolean;
}

const APP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const RELEASE_RECORD = 'app-release.json';
const PREVIOUS_RECORD = 'app-previous.json';
const PARTIAL = '.partial';

interface ReleaseRecord {
  app: string;
  release: string;
}
interface PreviousRecord {
  /** What `current` pointed at before install (a path relative to the app folder), or null. */
  previous: string | null;
}

/** The folder name of an app payload: meta.app when given, else the artifact name. */
export function appNameOf(manifest: Manifest, payload: PayloadInfo): string {
  const meta = payload.meta;
  const fromMeta = meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? meta.app : undefined;
  if (fromMeta === undefined) return manifest.name;
  if (typeof fromMeta !== 'string' || !APP_NAME_RE.test(fromMeta)) {
    throw new Error(`app payload ${payload.index}: meta.app ${JSON.stringify(fromMeta)} is not a plain name (letters, digits, . _ + -, starting with a letter or digit)`);
  }
  return fromMeta;
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs every regular file and folder below `dir` (symlinks live in their folder's entry). */
async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(path);
    else if (entry.isFile()) await fsyncPath(path);
  }
  await fsyncPath(dir);
}

/** rm -rf that also copes with read-only folders an app tree may hold (as non-root). */
async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    const makeWritable = async (dir: string): Promise<void> => {
      await chmod(dir, 0o700);
      for (const e of await readdir(dir, { withFileTypes: true })) if (e.isDirectory()) await makeWritable(join(dir, e.name));
    };
    await makeWritable(path);
    await rm(path, { recursive: true, force: true });
  }
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${path} is unreadable (${(err as Error).message}); remove the deployment's work folder to start it over`);
  }
}

function releaseOfTarget(target: string | null): string | null {
  return target?.startsWith('releases/') ? target.slice('releases/'.length) : null;
}

/** Newest first by version (the part before @); names that are not versions last. */
function byVersionDesc(a: string, b: string): number {
  const va = a.split('@')[0];
  const vb = b.split('@')[0];
  const okA = isValidVersion(va);
  const okB = isValidVersion(vb);
  if (okA && okB) return compareVersions(vb, va) || b.localeCompare(a);
  if (okA !== okB) return okA ? -1 : 1;
  return b.localeCompare(a);
}

/**
 * Drains `bytes` through `consume` and then to its very end: the artifact
 * reader only vouches for a payload when its stream ends, and the tar
 * extractor stops at the end-of-archive marker. Hashes what passed, too.
 */
async function consumeWhole(bytes: Readable, ctx: InstallContext, consume: (source: AsyncIterable<Buffer>) => Promise<unknown>): Promise<void> {
  const { payload, signal } = ctx;
  const it = bytes[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const hash = createHash('sha256');
  let size = 0;
  const next = async (): Promise<IteratorResult<Buffer>> => {
    if (signal.aborted) throw new Error(`app payload ${payload.index}: storing stopped, the agent is stopping`);
    const r = await it.next();
    if (!r.done) {
      hash.update(r.value);
      size += r.value.length;
    }
    return r;
  };
  // return() does not stop `bytes`: the rest is drained below.
  const source: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => ({ next, return: async () => ({ done: true, value: undefined }) }) };
  // On failure `bytes` is left as it is: the artifact reader drains or stops it and reports the first error, ours.
  await consume(source);
  while (!(await next()).done);
  const sha256 = hash.digest('hex');
  if (size !== payload.size || sha256 !== payload.sha256) {
    throw new Error(`app payload ${payload.index}: got ${size} bytes with sha256 ${sha256}, the manifest says ${payload.size} bytes with ${payload.sha256}`);
  }
}

export function createAppInstaller(opts: AppInstallerOptions): PayloadInstaller {
  const durable = opts.durable ?? true;
  const keep = Math.max(2, opts.keepReleases ?? 2);
  const appDirOf = (app: string): string => join(opts.appsDir, app);

  async function syncDir(dir: string): Promise<void> {
    if (durable) await fsyncPath(dir);
  }

  /** Where `current` points (relative to the app folder), or null when it does not exist. */
  async function currentTarget(appDir: string): Promise<string | null> {
    const current = join(appDir, 'current');
    try {
      const st = await lstat(current);
      if (!st.isSymbolicLink()) throw new Error(`${current} is not a symlink: move it away (the installer manages it as a link into releases/)`);
      return await readlink(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Points `current` at `target` with one rename (a leftover current.new is replaced). */
  async function switchCurrent(appDir: string, target: string): Promise<void> {
    const tmp = join(appDir, 'current.new');
    await rm(tmp, { force: true });
    await symlink(target, tmp);
    await rename(tmp, join(appDir, 'current'));
    await syncDir(appDir);
  }

  async function releaseRecord(ctx: InstallContext): Promise<ReleaseRecord> {
    const rec = await readJson<ReleaseRecord>(join(ctx.workDir, RELEASE_RECORD));
    if (!rec) throw new Error(`app payload ${ctx.payload.index}: nothing stored yet (${join(ctx.workDir, RELEASE_RECORD)} is missing); store() must finish first`);
    return rec;
  }

  return {
    async store(ctx, bytes) {
      const app = appNameOf(ctx.manifest, ctx.payload);
      const appDir = appDirOf(app);
      const releases = join(appDir, 'releases');
      await mkdir(releases, { recursive: true });
      const plain = ctx.manifest.version;
      const running = releaseOfTarget(await currentTarget(appDir));
      const release = running === plain ? `${plain}@${ctx.payload.sha256.slice(0, 12)}` : plain;
      const final = join(releases, release);
      const partial = final + PARTIAL;
      await removeTree(partial);
      await consumeWhole(bytes, ctx, (source) => extractTree(source, partial));
      if (durable) await fsyncTree(partial);
      await removeTree(final); // an earlier attempt's copy, or an old deployment's: never the running one (see above)
      await rename(partial, final);
      await syncDir(releases);
      await writeFileAtomic(join(ctx.workDir, RELEASE_RECORD), JSON.stringify({ app, release } satisfies ReleaseRecord), 0o600, { durable });
      ctx.log(`app ${app}: release ${release} stored in ${final}`);
    },

    async install(ctx) {
      const { app, release } = await releaseRecord(ctx);
      const appDir = appDirOf(app);
      const target = `releases/${release}`;
      const st = await lstat(join(appDir, target)).catch(() => null);
      if (!st?.isDirectory()) throw new Error(`app ${app}: ${join(appDir, target)} is missing; the payload must be stored again`);
      const previousPath = join(ctx.workDir, PREVIOUS_RECORD);
      // Written once, before the switch: a re-run after a power cut must not take the new release for the previous one.
      let prev = await readJson<PreviousRecord>(previousPath);
      if (!prev) {
        prev = { previous: await currentTarget(appDir) };
        await writeFileAtomic(previousPath, JSON.stringify(prev), 0o600, { durable });
      }
      await switchCurrent(appDir, target);
      ctx.log(`app ${app}: current -> ${target} (was ${prev.previous ?? 'none'})`);
    },

    async needsReboot() {
      return false;
    },

    async commit(ctx) {
      const { app, release } = await releaseRecord(ctx);
      const appDir = appDirOf(app);
      const prev = await readJson<PreviousRecord>(join(ctx.workDir, PREVIOUS_RECORD));
      const kept = new Set<string>([release]);
      for (const r of [releaseOfTarget(await currentTarget(appDir)), releaseOfTarget(prev?.previous ?? null)]) if (r) kept.add(r);
      const releases = join(appDir, 'releases');
      const others = (await readdir(releases)).filter((n) => !n.endsWith(PARTIAL) && !kept.has(n)).sort(byVersionDesc);
      const pruned = others.slice(Math.max(0, keep - kept.size));
      for (const name of pruned) await removeTree(join(releases, name));
      if (pruned.length) {
        await syncDir(releases);
        ctx.log(`app ${app}: pruned old releases ${pruned.join(', ')}`);
      }
    },

    async supportsRollback() {
      return true;
    },

    async rollback(ctx) {
      const prev = await readJson<PreviousRecord>(join(ctx.workDir, PREVIOUS_RECORD));
      if (!prev) {
        ctx.log(`app payload ${ctx.payload.index}: never installed, nothing to roll back`);
        return;
      }
      const app = appNameOf(ctx.manifest, ctx.payload);
      const appDir = appDirOf(app);
      if (prev.previous === null) {
        await rm(join(appDir, 'current.new'), { force: true });
        await rm(join(appDir, 'current'), { force: true });
        await syncDir(appDir);
        ctx.log(`app ${app}: rolled back to no release (current removed)`);
      } else {
        await switchCurrent(appDir, prev.previous);
        ctx.log(`app ${app}: rolled back, current -> ${prev.previous}`);
      }
    },

    async cleanup(ctx) {
      const app = appNameOf(ctx.manifest, ctx.payload);
      const appDir = appDirOf(app);
      const releases = join(appDir, 'releases');
      const names = await readdir(releases).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [] as string[];
        throw err;
      });
      for (const n of names) if (n.endsWith(PARTIAL)) await removeTree(join(releases, n));
      await rm(join(appDir, 'current.new'), { force: true });
      const rec = await readJson<ReleaseRecord>(join(ctx.workDir, RELEASE_RECORD));
      const prev = await readJson<PreviousRecord>(join(ctx.workDir, PREVIOUS_RECORD));
      if (rec) {
        const target = `releases/${rec.release}`;
        if (target !== (await currentTarget(appDir)) && target !== prev?.previous) {
          await removeTree(join(releases, rec.release));
          ctx.log(`app ${app}: removed release ${rec.release}, which is not running`);
        }
      }
      if (names.length) await syncDir(releases);
    },
  };
}
