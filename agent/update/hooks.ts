// The contract for state hooks (Mender calls them state scripts): executables
// run before (Enter), after (Leave) or on error (Error) of each update state.
// Two sources: the artifact's own hook payloads (manifest.hooks, extracted to
// the deployment's work folder) and the device's hook folder
// (config `hooksDir`, files named <State>_<Moment>_<NN>[_description], run
// in name order). Exit 0: go on. Exit HOOK_RETRY_LATER: run it again later
// (up to the hook's retry budget) before giving up. Any other exit, a signal
// or the timeout: the state fails (an Error or Leave hook failing after the
// fact is logged, not fatal).

export type HookState = 'Download' | 'Install' | 'Reboot' | 'Verify' | 'Commit' | 'Rollback' | 'Failure';
export type HookMoment = 'Enter' | 'Leave' | 'Error';

/** The exit code a hook uses to say "not now, ask me again later". */
export const HOOK_RETRY_LATER = 21;

export interface HookRunner {
  /** Runs every hook for this state and moment (artifact hooks after device hooks); throws with the hook's name, exit code and stderr tail when one fails. */
  run(state: HookState, moment: HookMoment, env?: Record<string, string>): Promise<void>;
}
