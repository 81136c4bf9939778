// Runs state hooks (Mender's state scripts): first the device's own hooks,
// hooksDir/<State>_<Moment>_<NN>[_description] in name order, then the
// artifact's hook for that state and moment: artifactHooksDir/<payload index>
// when the manifest's `hooks` map is given (how the update engine stores hook
// payloads), else artifactHooksDir/<State>_<Moment>. An artifact hook that is
// not stored (yet: Download_Enter runs before the download) is skipped with a
// log line.
//
// Exit 0: next hook. Exit HOOK_RETRY_LATER (21): run the same hook again
// after retryLaterDelayMs, at most retryLaterMax more times, then fail. Any
// other exit, a signal or the timeout (the hook's process group is killed):
// fail with the hook's path, how it ended and the end of its stderr.
// For Enter and Leave the first failure stops the run; Error hooks all run
// (they clean up after a failure already under way), then the first failure
// is thrown. Whether a failure is fatal is the engine's call.
//
// A device hook without an execute bit is skipped with a log line (as Mender
// does, so a hook can be disabled with chmod -x). An artifact hook is part of
// the signed artifact, so it always runs: it is made executable if the
// extraction did not.
import { constants } from 'node:fs';
import { access, chmod, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOOK_RETRY_LATER, type HookMoment, type HookRunner, type HookState } from './hooks';
import { describeEnd, runExecutable, stderrSuffix } from './installers/run-executable';

export interface HookRunnerOptions {
  /** The device's hook folder (config `hooksDir`); missing = no device hooks. */
  hooksDir?: string;
  /** Where the engine stored this deployment's artifact hooks. */
  artifactHooksDir?: string;
  /** The verified manifest's `hooks` (<State>_<Moment> -> payload index): files are then named by index. */
  artifactHooks?: Record<string, number>;
  /** Per run of one hook (default 10 minutes). */
  timeoutMs?: number;
  /** How many times a hook may answer "retry later" before the state fails (default 30). */
  retryLaterMax?: number;
  /** Wait before running a hook again that answered "retry later" (default 60 s). */
  retryLaterDelayMs?: number;
  log(line: string): void;
}

export const DEFAULT_HOOK_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_RETRY_LATER_MAX = 30;
export const DEFAULT_RETRY_LATER_DELAY_MS = 60_000;
/** stderr lines of one hook run copied to the log. */
const MAX_LOGGED_LINES = 50;

interface Hook {
  path: string;
  /** Name for messages: device:<file> or artifact:<State>_<Moment>. */
  label: string;
  fromArtifact: boolean;
}

async function deviceHooks(dir: string | undefined, prefix: string): Promise<Hook[]> {
  if (!dir) return [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read the hook folder ${dir}: ${(err as Error).message}`);
  }
  const re = new RegExp(`^${prefix}_[0-9]{2}(_.*)?$`);
  return names
    .filter((n) => re.test(n))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) // byte order, independent of the locale
    .map((n) => ({ path: join(dir, n), label: `device hook ${n}`, fromArtifact: false }));
}

async function artifactHook(opts: HookRunnerOptions, prefix: string): Promise<Hook[]> {
  if (!opts.artifactHooksDir) return [];
  const label = `artifact hook ${prefix}`;
  let file = prefix;
  if (opts.artifactHooks) {
    const index = opts.artifactHooks[prefix];
    if (index === undefined) return [];
    file = String(index);
  }
  const path = join(opts.artifactHooksDir, file);
  if (await stat(path).then(() => true, () => false)) return [{ path, label, fromArtifact: true }];
  if (opts.artifactHooks) opts.log(`${label}: skipped, not stored (yet) at ${path}`);
  return [];
}

export function createHookRunner(opts: HookRunnerOptions): HookRunner {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const retryMax = opts.retryLaterMax ?? DEFAULT_RETRY_LATER_MAX;
  const retryDelay = opts.retryLaterDelayMs ?? DEFAULT_RETRY_LATER_DELAY_MS;

  /** False when the hook is to be skipped. */
  async function runnable(hook: Hook): Promise<boolean> {
    const st = await stat(hook.path);
    if (!st.isFile()) {
      opts.log(`${hook.label}: skipped, not a regular file`);
      return false;
    }
    const executable = await access(hook.path, constants.X_OK).then(() => true, () => false);
    if (executable) return true;
    if (hook.fromArtifact) {
      await chmod(hook.path, 0o755);
      return true;
    }
    opts.log(`${hook.label}: skipped, not executable (chmod +x ${hook.path} to enable it)`);
    return false;
  }

  async function runHook(hook: Hook, env: NodeJS.ProcessEnv): Promise<void> {
    for (let retries = 0; ; retries++) {
      let logged = 0;
      const r = await runExecutable(hook.path, [], {
        env,
        timeoutMs,
        onStderrLine: (line) => {
          if (logged++ < MAX_LOGGED_LINES) opts.log(`${hook.label}: ${line}`);
        },
      }).catch((err: Error) => {
        throw new Error(`${hook.label} (${hook.path}) could not be started: ${err.message}`);
      });
      if (r.code === 0 && !r.timedOut) return;
      if (r.code === HOOK_RETRY_LATER && !r.timedOut) {
        if (retries >= retryMax) {
          throw new Error(`${hook.label} (${hook.path}) still asked to retry later (exit ${HOOK_RETRY_LATER}) after ${retryMax} retries: giving up${stderrSuffix(r)}`);
        }
        opts.log(`${hook.label}: asked to retry later (exit ${HOOK_RETRY_LATER}), retry ${retries + 1} of ${retryMax} in ${retryDelay / 1000} s`);
        await sleep(retryDelay);
        continue;
      }
      throw new Error(`${hook.label} (${hook.path}) failed: ${describeEnd(r, timeoutMs)}${stderrSuffix(r)}`);
    }
  }

  return {
    async run(state: HookState, moment: HookMoment, env: Record<string, string> = {}): Promise<void> {
      const prefix = `${state}_${moment}`;
      const hooks = [...(await deviceHooks(opts.hooksDir, prefix)), ...(await artifactHook(opts, prefix))];
      if (!hooks.length) return;
      // Copying process.env is costly (a native getter per variable): only for hooks that run.
      const childEnv = { ...process.env, ...env, FLEET_STATE: state, FLEET_MOMENT: moment };
      let firstError: Error | null = null;
      for (const hook of hooks) {
        if (!(await runnable(hook))) continue;
        opts.log(`${hook.label}: running`);
        try {
          await runHook(hook, childEnv);
        } catch (err) {
          if (moment !== 'Error') throw err;
          opts.log((err as Error).message);
          firstError ??= err as Error;
        }
      }
      if (firstError) throw firstError;
    },
  };
}
