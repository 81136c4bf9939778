import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../../artifact';
import type { DeploymentCommand, DeviceMessage, HubMessage, UpdateReport } from '../../proto/gen/fleet/v1/device';
import type { Bootloader } from '../bootloader/bootloader';
import type { ControlChannel } from '../control-channel';
import type { UpdateEngineOptions } from './engine-options';
import { crashPoint } from './fault-injection';
import type { HookMoment, HookState } from './hooks';
import { StateStore } from './state-store';
import { STATUS_AFTER_PAUSE, holdStep, pauseAt, pausedStatus } from './pauses';
import { finish, rollbackTo, type PayloadStep, type StepContext, type StepResult, type Transition } from './step-context';
import { commitStep } from './step-commit';
import { downloadStep } from './step-download';
import { installStep } from './step-install';
import { rebootStep } from './step-reboot';
import { rollbackRebootStep, rollbackStep } from './step-rollback';
import { artifactHooksDir, storeStep } from './step-store';
import { verifyStep } from './step-verify';
import { UpdateError, reasonOf } from './update-error';
import { PAUSE_STAGES, newState, type DeploymentOrder, type PauseStage, type UpdateState, type UpdateStep } from './update-state';

// The update state machine (agent/README.md has the diagram):
//   download → store → install → reboot → verify → commit → done(success)
//   any failure before commit → rollback [→ rollback-reboot] → done(rolled-back | aborted | failure)
// With pause points (pauses.ts) it stops before install, reboot and/or
// commit until the hub's DeploymentContinue for that stage.
// The state is persisted (atomically, fsynced) BEFORE every transition's work
// starts, so after a power cut the engine repeats the step it was in; every
// step is idempotent and, after a reboot, asks the bootloader where it is.
// The hub is told through UpdateReports on the control stream: on every
// transition, about once a second of download progress, after every Hello,
// and in answer to a repeated command.

type StepFn = (c: StepContext) => Promise<StepResult>;

const STEPS: Record<Exclude<UpdateStep, 'done'>, StepFn> = {
  download: downloadStep,
  store: storeStep,
  install: installStep,
  reboot: rebootStep,
  verify: verifyStep,
  commit: commitStep,
  rollback: rollbackStep,
  'rollback-reboot': rollbackRebootStep,
};

const MAX_PENDING_LOG_LINES = 1000;
const DEFAULT_PROGRESS_INTERVAL_MS = 1000;

export class UpdateEngine implements ControlChannel {
  private readonly store: StateStore;
  private state: UpdateState | null = null;
  private send?: (msg: DeviceMessage) => void;
  private readonly onlineWaiters = new Set<() => void>();
  private ready: Promise<void> = Promise.resolve();
  private driving?: Promise<void>;
  private stepControl?: AbortController;
  private stopped = false;
  private commands: Promise<void> = Promise.resolve();
  private liveBytes = 0;
  private lastProgressAt = 0;
  private bootloaderPromise?: Promise<Bootloader>;
  /** A reboot was asked for: nothing more runs in this boot. */
  private rebootAsked = false;

  constructor(private readonly opts: UpdateEngineOptions) {
    this.store = new StateStore(opts.stateDir, opts.durable ?? true);
  }

  /** Reads the persisted deployment and resumes it (or finishes its cleanup). */
  start(): Promise<void> {
    this.ready = this.resume().catch((err) => this.opts.log?.(`update engine cannot resume: ${reasonOf(err)}`));
    return this.ready;
  }

  /** Stops the running step (it is repeated after the next start) and waits for the state to be on disk. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stepControl?.abort(new Error('agent stopping'));
    await this.ready;
    await this.driving;
    await this.commands;
    await this.store.flush();
  }

  /** What the device provides now (by artifact group), for inventory. */
  async provides(): Promise<Record<string, string>> {
    return (await this.store.loadProvides()) ?? { ...(this.opts.factoryProvides ?? {}) };
  }

  online(send: (msg: DeviceMessage) => void): void {
    this.send = send;
    for (const wake of [...this.onlineWaiters]) wake();
    // The hub learns the truth again after every (re)connect.
    this.enqueue(async () => {
      if (this.state) await this.persistAndReport();
    });
  }

  offline(): void {
    this.send = undefined;
  }

  message(msg: HubMessage): void {
    if (msg.msg?.$case === 'deployment') {
      const cmd = msg.msg.deployment;
      this.enqueue(() => this.onDeployment(cmd));
    } else if (msg.msg?.$case === 'abort') {
      const id = msg.msg.abort.deploymentId;
      this.enqueue(() => this.onAbort(id));
    } else if (msg.msg?.$case === 'deploymentContinue') {
      const { deploymentId, stage } = msg.msg.deploymentContinue;
      this.enqueue(() => this.onContinue(deploymentId, stage));
    }
  }

  private enqueue(work: () => Promise<void>): void {
    this.commands = this.commands
      .then(() => this.ready)
      .then(() => (this.stopped ? undefined : work()))
      .catch((err) => this.opts.log?.(`update engine: ${reasonOf(err)}`));
  }

  private async resume(): Promise<void> {
    const state = await this.store.load();
    this.state = state;
    if (!state) return;
    if (state.step === 'done') {
      await this.cleanup(state);
      return;
    }
    this.log(`resuming deployment ${state.order.deploymentId} at step ${state.step}`);
    this.drive();
  }

  private async onDeployment(cmd: DeploymentCommand): Promise<void> {
    const current = this.state;
    // A higher attempt than the one that ended is the hub's retry: start over.
    const retry = current?.step === 'done' && (cmd.attempt ?? 0) > (current.order.attempt ?? 0);
    if (current?.order.deploymentId === cmd.deploymentId && !retry) return this.persistAndReport();
    if (current && current.step !== 'done') {
      this.opts.log?.(`deployment ${cmd.deploymentId} waits: ${current.order.deploymentId} is still in progress`);
      return this.persistAndReport();
    }
    const order: DeploymentOrder = {
      deploymentId: cmd.deploymentId,
      artifactId: cmd.artifactId,
      artifactName: cmd.artifactName,
      artifactVersion: cmd.artifactVersion,
      artifactSize: cmd.artifactSize,
      allowDowngrade: cmd.allowDowngrade,
      force: cmd.force,
      pauseBefore: PAUSE_STAGES.filter((stage) => pauseFlag(cmd, stage)),
      attempt: cmd.attempt ?? 0,
    };
    const provides = await this.provides();
    const state = newState(order, provides);
    this.state = state;
    this.liveBytes = 0;
    const pauses = order.pauseBefore?.length ? `, pausing before ${order.pauseBefore.join(', ')}` : '';
    const attempt = order.attempt ? `, attempt ${order.attempt + 1}` : '';
    this.log(`deployment ${order.deploymentId}: ${order.artifactName} ${order.artifactVersion} (${order.artifactSize} bytes${pauses}${attempt})`);
    const group = installedGroup(provides, order.artifactName, order.artifactVersion);
    if (group && !order.force) {
      Object.assign(state, finish('already-installed', `the device already runs ${order.artifactName} ${order.artifactVersion} (group ${group}); deploy with force to install it again`));
      this.log(state.reason);
    }
    await this.persistAndReport();
    this.drive();
  }

  private async onAbort(deploymentId: string): Promise<void> {
    const state = this.state;
    if (!state || state.order.deploymentId !== deploymentId) return;
    if (state.paused) await this.driving; // a hold check may be running
    if (state.paused && !state.abort) {
      // Nothing runs while paused: go straight to the rollback (or, before install, to the end).
      state.abort = true;
      this.log(`the operator aborted the deployment while it was paused before ${state.paused}`);
      await this.transition(state, state.paused === 'install' ? finish('aborted', 'aborted by the operator before installing') : rollbackTo('aborted', 'aborted by the operator'));
      this.drive();
      return;
    }
    if (state.step === 'done' || state.step === 'commit' || state.abort) return this.persistAndReport();
    state.abort = true;
    if (state.step === 'rollback' || state.step === 'rollback-reboot') state.outcome = 'aborted';
    this.log('the operator aborted the deployment');
    await this.persistAndReport();
    if (['download', 'store', 'install', 'verify'].includes(state.step)) this.stepControl?.abort(new Error('aborted by the operator'));
    this.drive();
  }

  /** A DeploymentContinue: acts only while paused before that very stage of that deployment. */
  private async onContinue(deploymentId: string, stage: string): Promise<void> {
    const state = this.state;
    if (!state || state.order.deploymentId !== deploymentId || state.step === 'done') return;
    if (state.paused !== stage) return; // repeated, or an earlier stage sent again
    await this.driving; // a hold check may be running
    if (state.paused !== stage || this.stopped) return;
    crashPoint(`persist:continue-${stage}`);
    state.paused = undefined;
    state.released = [...(state.released ?? []), stage];
    state.status = STATUS_AFTER_PAUSE[stage];
    this.log(`released: going on past the pause before ${stage}`);
    await this.persistAndReport();
    crashPoint(`persisted:continue-${stage}`);
    this.drive();
  }

  private drive(): void {
    if (this.driving || this.stopped || this.rebootAsked || !this.state || this.state.step === 'done') return;
    this.driving = this.loop().finally(() => (this.driving = undefined));
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const state = this.state;
      if (!state || state.step === 'done') return;
      const control = new AbortController();
      this.stepControl = control;
      let next: StepResult;
      try {
        next = await (state.paused ? holdStep : STEPS[state.step])(this.context(state, control.signal));
      } catch (err) {
        if (this.stopped) return;
        next = afterError(state, err);
      }
      if (this.stopped || next === 'wait') return;
      await this.transition(state, next);
    }
  }

  private async transition(state: UpdateState, t: Transition): Promise<void> {
    const pause = pauseAt(state, state.step, t.step);
    const name = `${state.step}->${pause ? pausedStatus(pause) : t.step}`;
    crashPoint(`persist:${name}`);
    state.step = t.step;
    state.paused = pause;
    if (t.status) state.status = t.status;
    if (pause) state.status = pausedStatus(pause);
    if (t.reason !== undefined) state.reason = t.reason;
    if (t.outcome) state.outcome = state.abort ? 'aborted' : t.outcome;
    if (t.bootId !== undefined) state.bootId = t.bootId;
    if (t.running !== undefined) state.running = t.running;
    if (t.step === 'done') this.log(`deployment ${state.order.deploymentId}: ${state.status}${state.reason ? ` (${state.reason})` : ''}`);
    else if (pause) this.log(`paused before ${pause}: waiting for the release`);
    else if (t.step === 'rollback') this.log(`rollback: ${state.reason}`);
    await this.persistAndReport();
    crashPoint(`persisted:${name}`);
    if (t.step === 'done') await this.cleanup(state);
  }

  /** Persists the state; when online, also reports it (with a new seq and the pending log lines). */
  private async persistAndReport(): Promise<void> {
    const state = this.state;
    if (!state || this.stopped) return;
    const send = this.send;
    let report: UpdateReport | undefined;
    if (send) {
      state.seq++;
      report = this.reportOf(state);
      state.logs = [];
    }
    await this.store.save(state);
    if (!report || !send) return;
    if (send === this.send) send({ msg: { $case: 'update', update: report } });
    // The stream went away meanwhile: keep the lines for the next report.
    else state.logs.unshift(...report.logLines);
  }

  private reportOf(state: UpdateState): UpdateReport {
    const bytesDone = state.step === 'download' ? Math.max(this.liveBytes, state.bytesDone) : state.bytesDone;
    return {
      deploymentId: state.order.deploymentId,
      artifactId: state.order.artifactId,
      status: state.status,
      bytesDone,
      bytesTotal: state.bytesTotal,
      reason: state.reason,
      logLines: [...state.logs],
      seq: state.seq,
      attempt: state.order.attempt ?? 0,
    };
  }

  private log(line: string): void {
    this.opts.log?.(line);
    const state = this.state;
    if (!state) return;
    state.logs.push(`${new Date().toISOString()} ${line}`);
    if (state.logs.length > MAX_PENDING_LOG_LINES) state.logs.splice(0, state.logs.length - MAX_PENDING_LOG_LINES);
  }

  private deploymentDir(state: UpdateState): string {
    return this.store.deploymentDir(state.order.deploymentId);
  }

  /** Installers' cleanup and the deployment folder, after a final status. */
  private async cleanup(state: UpdateState): Promise<void> {
    const dir = this.deploymentDir(state);
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (exists) {
      const control = new AbortController();
      try {
        for (const p of await this.context(state, control.signal).payloads()) await p.installer.cleanup(p.ctx);
      } catch (err) {
        this.opts.log?.(`cleanup after deployment ${state.order.deploymentId}: ${reasonOf(err)}`);
      }
      await rm(dir, { recursive: true, force: true });
    }
    if (state.status === 'success') this.opts.onProvidesChanged?.();
  }

  private context(state: UpdateState, signal: AbortSignal): StepContext {
    const dir = this.deploymentDir(state);
    const log = (line: string): void => this.log(line);
    return {
      state,
      opts: this.opts,
      signal,
      dir,
      log: (line) => this.log(line),
      save: async (changes) => {
        Object.assign(state, changes);
        if (!this.stopped) await this.store.save(state);
      },
      saveProvides: (provides) => this.store.saveProvides(provides),
      progress: (bytes) => {
        this.liveBytes = bytes;
        const now = Date.now();
        if (now - this.lastProgressAt < (this.opts.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS)) return;
        this.lastProgressAt = now;
        void this.persistAndReport().catch((err) => this.opts.log?.(`cannot save the update state: ${reasonOf(err)}`));
      },
      waitOnline: (s, timeoutMs) => this.waitOnline(s, timeoutMs),
      flush: () => this.persistAndReport(),
      bootloader: () => this.bootloader(),
      reboot: async () => {
        this.rebootAsked = true;
        try {
          await this.opts.reboot();
        } catch (err) {
          this.rebootAsked = false;
          throw err;
        }
      },
      payloads: async (manifest?: Manifest) => {
        const m = manifest ?? state.manifest;
        if (!m) return [];
        const steps: PayloadStep[] = [];
        for (const payload of m.payloads) {
          if (payload.type === 'hook') continue;
          const installer = this.opts.installers(payload.type);
          if (!installer) throw new UpdateError(`this device has no installer for payload type ${payload.type}`, 'incompatible');
          const workDir = join(dir, 'payloads', String(payload.index));
          await mkdir(workDir, { recursive: true });
          steps.push({ payload, installer, ctx: { workDir, manifest: m, payload, log, signal } });
        }
        return steps;
      },
      hooks: (hookState, moment) => this.runHooks(state, dir, hookState, moment),
    };
  }

  private async runHooks(state: UpdateState, dir: string, hookState: HookState, moment: HookMoment): Promise<void> {
    if (!this.opts.hooks) return;
    const runner = this.opts.hooks({ dir, artifactHooksDir: artifactHooksDir(dir), manifest: state.manifest, log: (line) => this.log(line) });
    const env = {
      FLEET_DEPLOYMENT_ID: state.order.deploymentId,
      FLEET_ARTIFACT_NAME: state.order.artifactName,
      FLEET_ARTIFACT_VERSION: state.order.artifactVersion,
    };
    try {
      await runner.run(hookState, moment, env);
    } catch (err) {
      // Enter hooks can stop a state; Leave and Error hooks run after the fact.
      if (moment === 'Enter') throw err;
      this.log(`${hookState}_${moment} hook failed (ignored): ${reasonOf(err)}`);
    }
  }

  private bootloader(): Promise<Bootloader | null> {
    if (!this.opts.bootloader) return Promise.resolve(null);
    this.bootloaderPromise ??= this.opts.bootloader().catch((err) => {
      this.bootloaderPromise = undefined;
      throw err;
    });
    return this.bootloaderPromise;
  }

  private waitOnline(signal: AbortSignal, timeoutMs?: number): Promise<void> {
    if (this.send) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error): void => {
        this.onlineWaiters.delete(wake);
        signal.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const wake = (): void => done();
      const onAbort = (): void => done(signal.reason ?? new Error('aborted'));
      if (signal.aborted) return onAbort();
      this.onlineWaiters.add(wake);
      signal.addEventListener('abort', onAbort);
      if (timeoutMs !== undefined) timer = setTimeout(() => done(new Error(`not online within ${timeoutMs} ms`)), timeoutMs);
    });
  }
}

/** What a step's unexpected end means. */
function afterError(state: UpdateState, err: unknown): Transition {
  const early = state.step === 'download' || state.step === 'store';
  if (state.abort && early) return finish('aborted', 'aborted by the operator before installing');
  if (state.abort && state.step !== 'rollback' && state.step !== 'rollback-reboot') return rollbackTo('aborted', 'aborted by the operator');
  const reason = reasonOf(err);
  if (early) return finish(err instanceof UpdateError ? err.status : 'failure', reason);
  if (state.step === 'rollback' || state.step === 'rollback-reboot') return finish('failure', `${state.reason ? `${state.reason}; ` : ''}rollback failed: ${reason}`);
  return rollbackTo('rolled-back', `${state.step} failed: ${reason}`);
}

function pauseFlag(cmd: DeploymentCommand, stage: PauseStage): boolean {
  if (stage === 'install') return !!cmd.pauseBeforeInstall;
  if (stage === 'reboot') return !!cmd.pauseBeforeReboot;
  return !!cmd.pauseBeforeCommit;
}

/** The artifact group whose installed name and version are these, if any. */
function installedGroup(provides: Record<string, string>, name: string, version: string): string | undefined {
  for (const [key, value] of Object.entries(provides)) {
    const m = /^artifact\.(.+)\.name$/.exec(key);
    if (m && value === name && provides[`artifact.${m[1]}.version`] === version) return m[1];
  }
  return undefined;
}
