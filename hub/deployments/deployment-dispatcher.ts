import type { UpdateReport } from '../../proto/gen/fleet/v1/device';
import type { DeviceSessions } from '../device/device-sessions';
import { systemClock, type Clock } from '../rollouts/clock';
import { mayPass } from '../rollouts/release';
import { pausedStage, PAUSED_STATUSES, type Stage } from '../rollouts/stages';
import { isFinalStatus } from '../store/deployment-rows';
import type { AbortResult, AppliedReports, DeploymentDeviceStatus, DeploymentRecord, HubStore, PhaseStart, UpdateReportRecord } from '../store/store';
import { toDeploymentCommand } from './deployment-proto';
import { ReportWriter } from './report-writer';

/** Statuses a device may report (pending is the hub's own). */
const REPORTABLE: ReadonlySet<string> = new Set<DeploymentDeviceStatus>([
  'downloading',
  ...PAUSED_STATUSES,
  'installing',
  'rebooting',
  'verifying',
  'committing',
  'success',
  'failure',
  'rolled-back',
  'already-installed',
  'incompatible',
  'aborted',
]);

const MAX_REASON = 2000;
const MAX_LINE = 2000;
const MAX_LINES_PER_REPORT = 1000;

/** How often queued progress reports are written. */
export const REPORT_FLUSH_MS = 250;

// The hub side of the deployment protocol (docs/deployments.md): which
// command or abort goes to which connected device and when, and what the hub
// makes of the devices' UpdateReports. A device only ever gets a command for
// its oldest deployment that is not final; when that one is aborted it gets
// DeploymentAbort instead. Rollouts (docs/rollouts.md): a pending device of
// a phase that has not started, or of a halted deployment, gets nothing; a
// device that reports a pause gets DeploymentContinue once it may go on.
export class DeploymentDispatcher {
  private readonly writer: ReportWriter;

  constructor(
    private readonly store: HubStore,
    private readonly sessions: DeviceSessions,
    private readonly log: (line: string) => void,
    flushMs = REPORT_FLUSH_MS,
    private readonly clock: Clock = systemClock,
  ) {
    this.writer = new ReportWriter(store, flushMs, log, (applied) => this.onApplied(applied));
  }

  start(): void {
    this.writer.start();
  }

  /** Writes the reports still queued. */
  stop(): Promise<void> {
    return this.writer.stop();
  }

  /** Right after Hello: the device's current work. */
  async afterHello(deviceId: string): Promise<void> {
    await this.sendNext(deviceId);
  }

  /** A deployment was created: its pending targets that are online and free get the command at once. */
  async onCreated(deployment: DeploymentRecord, pendingIds: string[]): Promise<void> {
    for (const id of pendingIds) if (this.sessions.get(id)) await this.sendNext(id, deployment.id);
  }

  /**
   * A deployment was aborted: every online device that was not final gets
   * DeploymentAbort (a device the hub thought pending may have received the
   * command already); the formerly pending ones then get their next deployment.
   */
  async onAborted(result: AbortResult): Promise<void> {
    const deploymentId = result.deployment.id;
    for (const id of [...result.inProgress, ...result.abortedPending]) this.sendAbort(id, deploymentId);
    for (const id of result.abortedPending) if (this.sessions.get(id)) await this.sendNext(id);
  }

  /** One UpdateReport from a device's control stream. Never throws for bad input: it is logged and ignored. */
  async onReport(deviceId: string, report: UpdateReport): Promise<void> {
    const { deploymentId } = report;
    if (!REPORTABLE.has(report.status)) {
      this.log(`update report from device ${deviceId} for deployment ${deploymentId} ignored: unknown status "${report.status}"`);
      return;
    }
    const stored = this.writer.peek(deploymentId, deviceId) ? undefined : await this.store.getDeploymentDevice(deploymentId, deviceId);
    // Judged after the read: a report queued meanwhile is the newer truth.
    const current = this.writer.peek(deploymentId, deviceId) ?? stored;
    if (!current) {
      this.log(`update report from device ${deviceId} ignored: it is not a target of deployment "${deploymentId}"`);
      return;
    }
    // A report of an earlier attempt (a device retried after a failure re-sending its old final report).
    if ((report.attempt ?? 0) !== (current.attempt ?? 0)) return;
    const stage = pausedStage(report.status);
    if (report.seq <= current.seq) {
      // Re-sent after a reconnect (maybe to a restarted hub): a device still
      // waiting at a pause gets its continue again if it may go on.
      if (stage && current.status === report.status) await this.continueIfReleased(deviceId, deploymentId, stage);
      return;
    }
    const final = isFinalStatus(report.status);
    if (isFinalStatus(current.status) && !final) {
      // Aborted on the hub while the device (unknown to the hub) had started:
      // tell it again, once per stream (its answers must not ping-pong).
      const session = this.sessions.get(deviceId);
      if (current.status === 'aborted' && session && !session.abortsAnswered.has(deploymentId)) {
        session.abortsAnswered.add(deploymentId);
        this.sendAbort(deviceId, deploymentId);
      }
      return;
    }
    this.writer.add({ ...toRecord(deviceId, report), attempt: current.attempt ?? 0 });
    if (final) await this.writer.flushSoon();
    else if (stage) await this.continueIfReleased(deviceId, deploymentId, stage);
  }

  /** A phase started (by hand, at its time or automatically): its pending online devices get the command. */
  async onPhaseStarted(start: PhaseStart): Promise<void> {
    for (const d of await this.store.deploymentDevices(start.deploymentId)) {
      if (d.phase === start.phase && d.status === 'pending' && this.sessions.get(d.deviceId)) await this.sendNext(d.deviceId, start.deploymentId);
    }
  }

  /** After a continue, a resume or a window opening: every online device waiting at a pause it may now pass is told. */
  async releasePaused(deploymentId: string): Promise<number> {
    await this.writer.flush(); // pauses reported but not yet written count too
    const state = await this.store.rolloutState(deploymentId);
    if (!state) return 0;
    const now = this.clock.now();
    let sent = 0;
    for (const p of await this.store.pausedDevices(deploymentId)) {
      const stage = pausedStage(p.status);
      if (stage && this.sessions.get(p.deviceId) && mayPass(stage, state.rollout, state.status, p.level, now)) {
        this.sendContinue(p.deviceId, deploymentId, stage);
        sent++;
      }
    }
    return sent;
  }

  /** A halted deployment goes on: its waiting devices in started phases get the command, paused ones their continue. */
  async onResumed(deploymentId: string): Promise<void> {
    for (const d of await this.store.deploymentDevices(deploymentId)) {
      if (d.status === 'pending' && this.sessions.get(d.deviceId)) await this.sendNext(d.deviceId, deploymentId);
    }
    await this.releasePaused(deploymentId);
  }

  /** A device was added to a deployment (dynamic group): it gets the command if that is its next work. */
  async onJoined(deviceId: string, deploymentId: string): Promise<void> {
    if (this.sessions.get(deviceId)) await this.sendNext(deviceId, deploymentId);
  }

  /** A pending device left a deployment before starting: tell it, in case it had the command already. */
  onLeft(deviceId: string, deploymentId: string): void {
    this.sendAbort(deviceId, deploymentId);
    if (this.sessions.get(deviceId)) this.sendNext(deviceId).catch((err) => this.log(`could not send device ${deviceId} its next deployment: ${(err as Error).message}`));
  }

  /** Flushes queued reports (tests, shutdown). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  private onApplied(applied: AppliedReports): void {
    for (const id of applied.finished) this.log(`deployment ${id} finished: every device is final`);
    for (const h of applied.halted ?? []) this.log(`deployment ${h.deploymentId} halted: ${h.reason}`);
    for (const r of applied.retried ?? []) this.log(`deployment ${r.deploymentId}: device ${r.deviceId} failed and is offered it again (retry ${r.attempt})`);
    for (const final of applied.finals) {
      this.sendNext(final.deviceId).catch((err) => this.log(`could not send the next deployment to device ${final.deviceId}: ${(err as Error).message}`));
    }
    for (const start of applied.phasesStarted ?? []) {
      this.log(`deployment ${start.deploymentId}: phase ${start.phase} started`);
      this.onPhaseStarted(start).catch((err) => this.log(`could not start phase ${start.phase} of deployment ${start.deploymentId}: ${(err as Error).message}`));
    }
  }

  /**
   * Sends the command (or abort) of the device's oldest non-final deployment;
   * with `only`, just when it is that one. Nothing while that deployment
   * holds the device back (its phase has not started, or it is halted and
   * the device has not started).
   */
  private async sendNext(deviceId: string, only?: string): Promise<void> {
    const work = await this.store.deviceWork(deviceId);
    if (!work || (only && work.deployment.id !== only)) return;
    const session = this.sessions.get(deviceId);
    if (!session || session.ended) return;
    const { deployment, device } = work;
    if (deployment.status === 'aborted') {
      session.call.write({ msg: { $case: 'abort', abort: { deploymentId: deployment.id } } });
      return;
    }
    if (device.status === 'pending' && (!work.phaseStartedMs || deployment.status === 'halted')) return;
    session.call.write({ msg: { $case: 'deployment', deployment: toDeploymentCommand(deployment, device.attempt) } });
  }

  private async continueIfReleased(deviceId: string, deploymentId: string, stage: Stage): Promise<void> {
    const state = await this.store.rolloutState(deploymentId);
    const level = await this.store.releaseLevel(deploymentId, deviceId);
    if (!state || level === undefined) return;
    if (mayPass(stage, state.rollout, state.status, level, this.clock.now())) this.sendContinue(deviceId, deploymentId, stage);
  }

  private sendContinue(deviceId: string, deploymentId: string, stage: Stage): void {
    const session = this.sessions.get(deviceId);
    if (session && !session.ended) session.call.write({ msg: { $case: 'deploymentContinue', deploymentContinue: { deploymentId, stage } } });
  }

  private sendAbort(deviceId: string, deploymentId: string): void {
    const session = this.sessions.get(deviceId);
    if (session && !session.ended) session.call.write({ msg: { $case: 'abort', abort: { deploymentId } } });
  }
}

function toRecord(deviceId: string, r: UpdateReport): UpdateReportRecord {
  return {
    deploymentId: r.deploymentId,
    deviceId,
    status: r.status as DeploymentDeviceStatus,
    bytesDone: Math.max(0, r.bytesDone),
    bytesTotal: Math.max(0, r.bytesTotal),
    reason: r.reason.slice(0, MAX_REASON),
    seq: r.seq,
    logLines: r.logLines.slice(-MAX_LINES_PER_REPORT).map((line) => line.slice(0, MAX_LINE)),
    atMs: Date.now(),
  };
}
