import type { Manifest, PayloadInfo } from '../../artifact';
import type { Bootloader } from '../bootloader/bootloader';
import type { HookMoment, HookState } from './hooks';
import type { InstallContext, PayloadInstaller } from './installer';
import type { UpdateEngineOptions } from './engine-options';
import type { FinalStatus, UpdateState, UpdateStatus, UpdateStep } from './update-state';

// What each step of the state machine gets from the engine, and what it
// returns: the next step (the engine persists it before anything of that
// step runs) or 'wait' (a reboot was asked for: nothing more to do in this
// boot).

export interface Transition {
  step: UpdateStep;
  status?: UpdateStatus;
  reason?: string;
  /** For rollback: the final status once the old system is back. */
  outcome?: FinalStatus;
  bootId?: string;
  running?: boolean;
}

export type StepResult = Transition | 'wait';

export interface PayloadStep {
  payload: PayloadInfo;
  installer: PayloadInstaller;
  ctx: InstallContext;
}

export interface StepContext {
  readonly state: UpdateState;
  readonly opts: UpdateEngineOptions;
  readonly signal: AbortSignal;
  /** This deployment's folder. */
  readonly dir: string;
  log(line: string): void;
  /** Persists changes that are not a transition (download offset, verified manifest). */
  save(changes: Partial<UpdateState>): Promise<void>;
  /** Persists the state and reports it with the log lines so far (before a reboot). */
  flush(): Promise<void>;
  /** Download progress (reported at most about once a second). */
  progress(bytes: number, total: number): void;
  /** Resolves once the control stream is up; rejects after timeoutMs or on abort. */
  waitOnline(signal: AbortSignal, timeoutMs?: number): Promise<void>;
  bootloader(): Promise<Bootloader | null>;
  /** Asks the host for a reboot; the engine runs nothing more in this boot. */
  reboot(): Promise<void>;
  /** The installer of each (non-hook) payload of the verified manifest, with its context. */
  payloads(manifest?: Manifest): Promise<PayloadStep[]>;
  /** Runs state hooks; Error and Leave failures after the fact are logged only. */
  hooks(state: HookState, moment: HookMoment): Promise<void>;
  /** Records what the device provides after a successful commit. */
  saveProvides(provides: Record<string, string>): Promise<void>;
}

/** Back to the old system, then report `outcome`. */
export function rollbackTo(outcome: FinalStatus, reason: string): Transition {
  return { step: 'rollback', outcome, reason };
}

export function finish(status: FinalStatus, reason = ''): Transition {
  return { step: 'done', status, reason };
}
