import type { UpdateReport } from '../../proto/gen/fleet/v1/device';
import type { DeviceSessions } from '../device/device-sessions';
import { isFinalStatus } from '../store/deployment-rows';
import type { AbortResult, AppliedReports, DeploymentDeviceStatus, DeploymentRecord, HubStore, UpdateReportRecord } from '../store/store';
import { toDeploymentCommand } from './deployment-proto';
import { ReportWriter } from './report-writer';

/** Statuses a device may report (pending is the hub's own). */
const REPORTABLE: ReadonlySet<string> = new Set<DeploymentDeviceStatus>([
  'downloading',
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
// DeploymentAbort instead.
export class DeploymentDispatcher {
  private readonly writer: ReportWriter;

  constructor(
    private readonly store: HubStore,
    private readonly sessions: DeviceSessions,
    private readonly log: (line: string) => void,
    flushMs = REPORT_FLUSH_MS,
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
    if (report.seq <= current.seq) return; // stale or re-sent after a reconnect
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
    this.writer.add(toRecord(deviceId, report));
    if (final) await this.writer.flush();
  }

  /** Flushes queued reports (tests, shutdown). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  private onApplied(applied: AppliedReports): void {
    for (const id of applied.finished) this.log(`deployment ${id} finished: every device is final`);
    for (const final of applied.finals) {
      this.sendNext(final.deviceId).catch((err) => this.log(`could not send the next deployment to device ${final.deviceId}: ${(err as Error).message}`));
    }
  }

  /** Sends the command (or abort) of the device's oldest non-final deployment; with `only`, just when it is that one. */
  private async sendNext(deviceId: string, only?: string): Promise<void> {
    const [oldest] = await this.store.openDeployments(deviceId);
    if (!oldest || (only && oldest.id !== only)) return;
    const session = this.sessions.get(deviceId);
    if (!session || session.ended) return;
    if (oldest.status === 'aborted') session.call.write({ msg: { $case: 'abort', abort: { deploymentId: oldest.id } } });
    else session.call.write({ msg: { $case: 'deployment', deployment: toDeploymentCommand(oldest) } });
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
