// The `module:<name>` payload installer: drives the device's update module
// modulesDir/<name> the way Mender drives its update modules, one call per
// state: `<module> <State> <moduleWorkDir>`, where moduleWorkDir is
// <workDir>/module and holds
//
//   files/<payload name>       the payload's verified bytes
//   header/manifest.json       the whole (verified) manifest
//   header/payload.json        this payload's manifest entry
//   header/artifact_name, artifact_version, artifact_group, payload_type,
//   header/payload_name        the same facts as one-line files, for sh
//   header/meta-data           the payload's meta as JSON
//   header/meta/<key>          each top-level string/number/boolean meta value
//   tmp/                       the module's own scratch space (kept until cleanup)
//
//   store            write files/ and header/, then Download (nothing may be activated)
//   install          ArtifactInstall
//   needsReboot      NeedsArtifactReboot: stdout Yes or Automatic -> true, No or nothing -> false
//   commit           ArtifactCommit
//   supportsRollback SupportsRollback: stdout Yes -> true, No or nothing -> false
//   rollback         ArtifactRollback (when install ran and the module supports it), then ArtifactFailure
//   cleanup          Cleanup, then the work folder is removed
//
// Exit 0 is success, anything else fails the step with the module's stderr
// tail. A call that overstays timeoutMs is killed with its process group.
// The engine re-runs the step it was in after a power cut, so a module must
// accept every state more than once, and must exit 0 for states it does not
// know.
import { createHash } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { JsonValue } from '../../../artifact';
import { writeFileAtomic } from '../../atomic-write';
import type { InstallContext, PayloadInstaller } from '../installer';
import { describeEnd, runExecutable, stderrSuffix } from './run-executable';

export interface ModuleInstallerOptions {
  /** Where the device's update modules live: modulesDir/<name> for payload type module:<name>. */
  modulesDir: string;
  /** Per call of the module (default 1 hour: firmware flashing can be slow). */
  timeoutMs?: number;
}

export type ModuleState =
  | 'Download'
  | 'ArtifactInstall'
  | 'NeedsArtifactReboot'
  | 'ArtifactCommit'
  | 'SupportsRollback'
  | 'ArtifactRollback'
  | 'ArtifactFailure'
  | 'Cleanup';

export const DEFAULT_MODULE_TIMEOUT_MS = 60 * 60_000;
const MODULE_PREFIX = 'module:';
const INSTALLED_MARK = 'module-installed';
/** stderr lines of one module call copied to the deployment log. */
const MAX_LOGGED_LINES = 100;
const META_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Header files a shell module can read without a JSON parser. */
function headerFiles(ctx: InstallContext): Array<[string, string]> {
  const { manifest, payload } = ctx;
  const files: Array<[string, string]> = [
    ['manifest.json', JSON.stringify(manifest, null, 2) + '\n'],
    ['payload.json', JSON.stringify(payload, null, 2) + '\n'],
    ['artifact_name', manifest.name + '\n'],
    ['artifact_version', manifest.version + '\n'],
    ['artifact_group', manifest.group + '\n'],
    ['payload_type', payload.type + '\n'],
    ['payload_name', payload.name + '\n'],
    ['meta-data', JSON.stringify(payload.meta) + '\n'],
  ];
  const meta: JsonValue = payload.meta;
  if (meta !== null && typeof meta === 'object' && !Array.isArray(meta)) {
    for (const [key, value] of Object.entries(meta)) {
      if (META_KEY_RE.test(key) && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
        files.push([`meta/${key}`, String(value)]);
      }
    }
  }
  return files;
}

export function createModuleInstaller(opts: ModuleInstallerOptions): PayloadInstaller {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_MODULE_TIMEOUT_MS;

  function moduleName(ctx: InstallContext): string {
    const type = ctx.payload.type;
    if (!type.startsWith(MODULE_PREFIX)) throw new Error(`payload ${ctx.payload.index} has type ${type}, not module:<name>; it was given to the wrong installer`);
    return type.slice(MODULE_PREFIX.length);
  }
  const moduleWork = (ctx: InstallContext): string => join(ctx.workDir, 'module');

  /** The module's path, after checking it can run. */
  async function modulePath(ctx: InstallContext): Promise<string> {
    const name = moduleName(ctx);
    const path = join(opts.modulesDir, name);
    const st = await stat(path).catch(() => null);
    if (!st) throw new Error(`update module ${name} is not installed (${path} not found): install it on the device to take payloads of type module:${name}`);
    if (!st.isFile()) throw new Error(`update module ${name}: ${path} is not a regular file`);
    if (!(await access(path, constants.X_OK).then(() => true, () => false))) {
      throw new Error(`update module ${name}: ${path} is not executable (chmod +x it)`);
    }
    return path;
  }

  /** Runs one state; resolves with stdout on exit 0, throws otherwise. */
  async function call(ctx: InstallContext, state: ModuleState): Promise<string> {
    const path = await modulePath(ctx);
    const name = moduleName(ctx);
    const work = moduleWork(ctx);
    let logged = 0;
    const r = await runExecutable(path, [state, work], {
      cwd: work,
      env: process.env,
      timeoutMs,
      signal: ctx.signal,
      onStderrLine: (line) => {
        if (logged++ < MAX_LOGGED_LINES) ctx.log(`module ${name} ${state}: ${line}`);
      },
    }).catch((err: Error) => {
      throw new Error(`update module ${name} ${state}: ${err.message}`);
    });
    if (r.code !== 0 || r.timedOut) throw new Error(`update module ${name} ${state} failed: ${describeEnd(r, timeoutMs)}${stderrSuffix(r)}`);
    return r.stdout;
  }

  /** A query state's one-word answer; anything but `yes` or `no` is an error. */
  async function ask(ctx: InstallContext, state: ModuleState, yes: string[], no: string[]): Promise<boolean> {
    const answer = (await call(ctx, state)).trim();
    if (yes.includes(answer)) return true;
    if (no.includes(answer)) return false;
    const expected = [...yes, ...no].filter(Boolean).join(', ');
    throw new Error(`update module ${moduleName(ctx)} ${state} answered ${JSON.stringify(answer.slice(0, 100))}; expected one of ${expected} (or nothing for No)`);
  }

  async function writePayload(ctx: InstallContext, bytes: Readable, filesDir: string): Promise<void> {
    const { payload } = ctx;
    const final = join(filesDir, payload.name);
    const partial = `${final}.partial`;
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(bytes, meter, createWriteStream(partial, { mode: 0o600 }), { signal: ctx.signal });
    const sha256 = hash.digest('hex');
    if (size !== payload.size || sha256 !== payload.sha256) {
      throw new Error(`module payload ${payload.index} (${payload.name}): got ${size} bytes with sha256 ${sha256}, the manifest says ${payload.size} bytes with ${payload.sha256}`);
    }
    await fsyncPath(partial);
    await rename(partial, final);
  }

  return {
    async store(ctx, bytes) {
      // Unread `bytes` are the artifact reader's to drain or stop; it reports this error as the cause.
      await modulePath(ctx);
      const work = moduleWork(ctx);
      await rm(work, { recursive: true, force: true }); // from scratch, whatever an interrupted attempt left
      const headerDir = join(work, 'header');
      const filesDir = join(work, 'files');
      await mkdir(join(headerDir, 'meta'), { recursive: true });
      await mkdir(filesDir);
      await mkdir(join(work, 'tmp'));
      for (const [file, text] of headerFiles(ctx)) await writeFile(join(headerDir, file), text, { mode: 0o600 });
      await writePayload(ctx, bytes, filesDir);
      for (const dir of [join(headerDir, 'meta'), headerDir, filesDir, work, ctx.workDir]) await fsyncPath(dir);
      await call(ctx, 'Download');
      ctx.log(`update module ${moduleName(ctx)}: ${ctx.payload.name} downloaded`);
    },

    async install(ctx) {
      // Marked before the call: a module interrupted halfway may have changed the device, so rollback must run.
      await writeFileAtomic(join(ctx.workDir, INSTALLED_MARK), 'ArtifactInstall started\n');
      await call(ctx, 'ArtifactInstall');
      ctx.log(`update module ${moduleName(ctx)}: installed ${ctx.payload.name}`);
    },

    needsReboot(ctx) {
      return ask(ctx, 'NeedsArtifactReboot', ['Yes', 'Automatic'], ['No', '']);
    },

    async commit(ctx) {
      await call(ctx, 'ArtifactCommit');
    },

    supportsRollback(ctx) {
      return ask(ctx, 'SupportsRollback', ['Yes'], ['No', '']);
    },

    async rollback(ctx) {
      const name = moduleName(ctx);
      if (!(await exists(join(ctx.workDir, INSTALLED_MARK)))) {
        ctx.log(`update module ${name}: never installed, nothing to roll back`);
        return;
      }
      if (await ask(ctx, 'SupportsRollback', ['Yes'], ['No', ''])) {
        await call(ctx, 'ArtifactRollback');
        ctx.log(`update module ${name}: rolled back`);
      } else {
        ctx.log(`update module ${name}: does not support rollback; what it installed stays`);
      }
      // ArtifactFailure only tidies up after the fact: its failure is logged, not a reason to roll back again.
      await call(ctx, 'ArtifactFailure').catch((err: Error) => ctx.log(err.message));
    },

    async cleanup(ctx) {
      const work = moduleWork(ctx);
      if (await exists(join(work, 'header', 'manifest.json'))) {
        // A failing Cleanup must not wedge the agent: logged, and the work folder goes anyway.
        await call(ctx, 'Cleanup').catch((err: Error) => ctx.log(err.message));
      }
      await rm(work, { recursive: true, force: true });
      await rm(join(ctx.workDir, INSTALLED_MARK), { force: true });
    },
  };
}
