import { defaultRollout, type RolloutConfig } from '../rollouts/rollout-config';
import type { WindowConfig } from '../rollouts/maintenance-window';
import { advanceWhy, hasFailureLimit, haltReason, mayAdvance, phasesToAdvance, type PhaseCounts } from '../rollouts/rollout-progress';
import { stageLevel } from '../rollouts/stages';
import { fromDeploymentDeviceRow, fromDeploymentRow, isFinalStatus, type DeploymentRow, type prepareDeploymentStatements } from './deployment-rows';
import type { DynamicGroupRow, GroupWindowRow, prepareRolloutStatements } from './rollout-rows';
import {
  RolloutNotFoundError,
  RolloutStateError,
  type ContinueRequest,
  type ContinueResult,
  type DeploymentDeviceRecord,
  type DeploymentDeviceStatus,
  type DeploymentRecord,
  type DeploymentStatus,
  type DeviceWork,
  type DynamicGroupRecord,
  type EventKind,
  type GroupWindowRecord,
  type HubEvent,
  type PausedDevice,
  type PhaseRecord,
  type PhaseStart,
} from './store';

/** What the rollout half of the SQLite store needs from the rest of it. */
export interface StoreCore {
  readonly d: ReturnType<typeof prepareDeploymentStatements>;
  readonly r: ReturnType<typeof prepareRolloutStatements>;
  /** One write transaction; events reach listeners after commit. */
  mutate<T>(fn: (events: HubEvent[]) => T): T;
  appendEvent(events: HubEvent[], actor: string, kind: EventKind, entityId: string, at: number, details?: Record<string, string>): void;
  readDeployment(id: string): DeploymentRecord | undefined;
  /** Marks the deployment finished when nothing is left open; true when it did. */
  finishIfDone(events: HubEvent[], id: string, actor: string): boolean;
}

// The rollout part of the SQLite store (docs/rollouts.md): phases, release
// levels, halts, joins and leaves of dynamic targets, dynamic groups and
// group windows. SqliteStore delegates to it and calls evaluateRollout
// inside its own transactions.
export class SqliteRollouts {
  constructor(private readonly c: StoreCore) {}

  async deploymentPhases(id: string): Promise<PhaseRecord[]> {
    const counts = this.phaseCounts(id);
    return this.c.r.phases.all(id).map((p) => {
      const c = counts.get(p.number) ?? {};
      return { number: p.number, startedMs: p.started, released: p.released, total: Object.values(c).reduce((a, b) => a + (b ?? 0), 0), counts: c };
    });
  }

  async deviceWork(deviceId: string): Promise<DeviceWork | undefined> {
    const row = this.c.r.work.get(deviceId);
    if (!row) return undefined;
    const device = this.c.d.deploymentDevice.get(row.id, deviceId)!;
    return { deployment: fromDeploymentRow(row, []), device: fromDeploymentDeviceRow(device), phaseStartedMs: row.phase_started ?? 0 };
  }

  async pausedDevices(deploymentId: string): Promise<PausedDevice[]> {
    return this.c.r.paused.all(deploymentId).map((r) => ({ deviceId: r.device_id, status: r.status, phase: r.phase, level: r.level }));
  }

  async releaseLevel(deploymentId: string, deviceId: string): Promise<number | undefined> {
    return this.c.r.deviceLevel.get(deploymentId, deviceId)?.level;
  }

  async rolloutState(id: string): Promise<{ status: DeploymentStatus; rollout: RolloutConfig } | undefined> {
    const row = this.c.d.getDeployment.get(id);
    return row && { status: row.status, rollout: fromDeploymentRow(row, []).rollout };
  }

  async openRollouts(): Promise<DeploymentRecord[]> {
    return this.c.r.openRollouts.all().map((row) => fromDeploymentRow(row, []));
  }

  async startPhase(id: string, phase: number, actor: string, why: string): Promise<boolean> {
    return this.c.mutate((events) => {
      const row = this.openRow(id);
      if (row.status !== 'active') return false;
      return this.startPhaseIn(events, id, phase, actor, why);
    });
  }

  async continueDeployment(id: string, req: ContinueRequest, actor: string): Promise<ContinueResult> {
    return this.c.mutate((events) => {
      const row = this.openRow(id);
      if (row.status === 'halted') throw new RolloutStateError(`deployment ${id} is halted (${row.halt_reason}): resume it first`);
      const config = this.rolloutOf(id);
      const phases = this.c.r.phases.all(id);
      const result: Omit<ContinueResult, 'deployment'> = { startedPhase: 0, releasedPhases: [], releasedDevices: [] };
      const target = (level: number) => (req.stage ? stageLevel(req.stage) : nextPauseLevel(config, level));
      const now = Date.now();
      if (req.deviceIds.length) {
        const missing: string[] = [];
        for (const deviceId of new Set(req.deviceIds)) {
          const level = this.c.r.deviceLevel.get(id, deviceId)?.level;
          if (level === undefined) {
            missing.push(deviceId);
            continue;
          }
          const to = target(level);
          if (to > level && this.c.r.releaseDevice.run(to, id, deviceId, to).changes) result.releasedDevices.push(deviceId);
        }
        if (missing.length) throw new RolloutNotFoundError(`not targets of deployment ${id}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
      } else {
        if (req.phase && !phases[req.phase - 1]) throw new RolloutNotFoundError(`deployment ${id} has ${phases.length} phase${phases.length === 1 ? '' : 's'}; there is no phase ${req.phase}`);
        const scope = req.phase ? [phases[req.phase - 1]] : phases.filter((p) => p.started);
        const waiting = req.phase ? (phases[req.phase - 1].started ? undefined : req.phase) : undefined;
        if (waiting) {
          this.startPhaseIn(events, id, waiting, actor, `started by ${actor}`);
          result.startedPhase = waiting;
        } else {
          for (const p of scope) {
            const to = target(p.released);
            if (to > p.released && this.c.r.releasePhase.run(to, id, p.number, to).changes) result.releasedPhases.push(p.number);
          }
          // Nothing left to release in the started phases: the next waiting phase starts.
          const next = phases.find((p) => !p.started);
          if (!req.phase && !result.releasedPhases.length && next) {
            this.startPhaseIn(events, id, next.number, actor, `started by ${actor}`);
            result.startedPhase = next.number;
          }
        }
      }
      if (!result.startedPhase && !result.releasedPhases.length && !result.releasedDevices.length) {
        throw new RolloutStateError(
          `nothing to continue in deployment ${id}: ${config.pauseBefore.length ? 'its pause points are already released there' : 'it has no pause points'}${phases.some((p) => !p.started) ? '' : ' and every phase has started'}`,
        );
      }
      if (result.releasedPhases.length || result.releasedDevices.length) {
        const phaseLevels = this.c.r.phases.all(id);
        const levels = [...new Set([...result.releasedPhases.map((n) => phaseLevels[n - 1].released), ...result.releasedDevices.map((d) => this.c.r.deviceLevel.get(id, d)!.level)])];
        this.c.appendEvent(events, actor, 'deployment.continued', id, now, {
          stage: req.stage ?? 'next',
          releasedTo: levels.map((l) => ['', 'install', 'reboot', 'commit'][l]).join(','),
          ...(result.releasedPhases.length ? { phases: result.releasedPhases.join(',') } : {}),
          ...(result.releasedDevices.length ? { devices: String(result.releasedDevices.length) } : {}),
        });
      }
      return { ...result, deployment: this.c.readDeployment(id)! };
    });
  }

  async pauseDeployment(id: string, reason: string, actor: string): Promise<DeploymentRecord> {
    return this.c.mutate((events) => {
      const row = this.openRow(id);
      if (row.status === 'active') {
        this.c.r.halt.run(reason, id);
        this.c.appendEvent(events, actor, 'deployment.paused', id, Date.now(), { reason });
      }
      return this.c.readDeployment(id)!;
    });
  }

  async resumeDeployment(id: string, actor: string): Promise<{ deployment: DeploymentRecord; phasesStarted: PhaseStart[] }> {
    return this.c.mutate((events) => {
      const row = this.openRow(id);
      if (row.status !== 'halted') throw new RolloutStateError(`deployment ${id} is not halted: there is nothing to resume`);
      this.c.r.resume.run(id);
      this.c.appendEvent(events, actor, 'deployment.resumed', id, Date.now(), { haltReason: row.halt_reason });
      // Phases may be due (their predecessor succeeded while halted); the
      // failures that halted it do not halt it again, only new ones.
      const outcome = this.evaluateRollout(events, id, false);
      this.c.finishIfDone(events, id, actor);
      return { deployment: this.c.readDeployment(id)!, phasesStarted: outcome.started.map((phase) => ({ deploymentId: id, phase })) };
    });
  }


  async joinDeployment(id: string, t: { deviceId: string; status: DeploymentDeviceStatus; reason: string }, actor: string): Promise<DeploymentDeviceRecord | undefined> {
    return this.c.mutate((events) => {
      const row = this.c.d.getDeployment.get(id);
      if (!row || !row.dynamic_group || (row.status !== 'active' && row.status !== 'halted')) return undefined;
      const config = this.rolloutOf(id);
      if (config.maxDevices && row.total >= config.maxDevices) return undefined;
      const now = Date.now();
      const phase = config.phases.length;
      if (!this.c.r.insertJoined.run(id, t.deviceId, t.status, t.reason, now, isFinalStatus(t.status) ? now : 0, phase).changes) return undefined;
      this.c.r.setTotal.run(id, id);
      this.c.appendEvent(events, actor, 'deployment.device-joined', id, now, { deviceId: t.deviceId, status: t.status, phase: String(phase) });
      this.c.finishIfDone(events, id, 'hub');
      return fromDeploymentDeviceRow(this.c.d.deploymentDevice.get(id, t.deviceId)!);
    });
  }

  async leaveDeployment(id: string, deviceId: string, actor: string): Promise<boolean> {
    return this.c.mutate((events) => {
      if (!this.c.r.leave.run(id, deviceId).changes) return false;
      this.c.r.setTotal.run(id, id);
      this.c.appendEvent(events, actor, 'deployment.device-left', id, Date.now(), { deviceId });
      this.evaluateRollout(events, id, false);
      this.c.finishIfDone(events, id, 'hub');
      return true;
    });
  }

  async saveDynamicGroup(group: DynamicGroupRecord, replace: boolean): Promise<DynamicGroupRecord> {
    return this.c.mutate((events) => {
      const existing = this.c.r.getGroup.get(group.name);
      if (existing && !replace) throw new RolloutStateError(`dynamic group "${group.name}" already exists: pick another name or replace it`);
      this.c.r.saveGroup.run({ name: group.name, query: JSON.stringify(group.query), created: group.createdMs, created_by: group.createdBy });
      this.c.appendEvent(events, group.createdBy, 'dynamic-group.changed', group.name, Date.now(), { name: group.name, change: existing ? 'replaced' : 'created', query: JSON.stringify(group.query) });
      return fromGroupRow(this.c.r.getGroup.get(group.name)!);
    });
  }

  async listDynamicGroups(): Promise<DynamicGroupRecord[]> {
    return this.c.r.listGroups.all().map(fromGroupRow);
  }

  async getDynamicGroup(name: string): Promise<DynamicGroupRecord | undefined> {
    const row = this.c.r.getGroup.get(name);
    return row && fromGroupRow(row);
  }

  async deleteDynamicGroup(name: string, actor: string): Promise<DynamicGroupRecord | undefined> {
    return this.c.mutate((events) => {
      const row = this.c.r.getGroup.get(name);
      if (!row) return undefined;
      this.c.r.deleteGroup.run(name);
      this.c.appendEvent(events, actor, 'dynamic-group.changed', name, Date.now(), { name, change: 'deleted' });
      return fromGroupRow(row);
    });
  }


  async setGroupWindow(group: string, dynamic: boolean, window: WindowConfig | undefined, actor: string): Promise<GroupWindowRecord | undefined> {
    return this.c.mutate((events) => {
      const now = Date.now();
      if (window) this.c.r.putWindow.run(group, dynamic ? 1 : 0, JSON.stringify(window), actor, now);
      else if (!this.c.r.deleteWindow.run(group, dynamic ? 1 : 0).changes) return undefined;
      this.c.appendEvent(events, actor, 'group.window', group, now, { group, dynamic: String(dynamic), window: window ? JSON.stringify(window) : '' });
      const row = this.c.r.getWindow.get(group, dynamic ? 1 : 0);
      return row && fromWindowRow(row);
    });
  }

  async groupWindow(group: string, dynamic: boolean): Promise<GroupWindowRecord | undefined> {
    const row = this.c.r.getWindow.get(group, dynamic ? 1 : 0);
    return row && fromWindowRow(row);
  }

  async groupWindows(): Promise<GroupWindowRecord[]> {
    return this.c.r.listWindows.all().map(fromWindowRow);
  }

  private openRow(id: string): DeploymentRow {
    const row = this.c.d.getDeployment.get(id);
    if (!row) throw new RolloutNotFoundError(`no deployment with id "${id}" on this hub`);
    if (row.status === 'finished' || row.status === 'aborted') throw new RolloutStateError(`deployment ${id} is ${row.status}: nothing can be changed any more`);
    return row;
  }

  /** The deployment's rollout (the default one for an unknown id). */
  rolloutOf(id: string): RolloutConfig {
    const row = this.c.d.getDeployment.get(id);
    return row ? fromDeploymentRow(row, []).rollout : defaultRollout();
  }

  private phaseCounts(id: string): PhaseCounts {
    const counts: PhaseCounts = new Map();
    for (const c of this.c.r.phaseCounts.all(id)) {
      const phase = counts.get(c.phase) ?? {};
      phase[c.status] = c.n;
      counts.set(c.phase, phase);
    }
    return counts;
  }

  private startPhaseIn(events: HubEvent[], id: string, phase: number, actor: string, why: string): boolean {
    if (!this.c.r.startPhase.run(Date.now(), id, phase).changes) return false;
    this.c.appendEvent(events, actor, 'deployment.phase-started', id, Date.now(), { phase: String(phase), why });
    return true;
  }

  /**
   * After devices changed: halts an active deployment whose failure
   * threshold is exceeded (only checked when a device newly failed), else
   * starts the phases whose predecessor reached its success threshold.
   */
  evaluateRollout(events: HubEvent[], id: string, newFailure: boolean): { halted?: string; started: number[] } {
    const row = this.c.d.getDeployment.get(id);
    if (!row || row.status !== 'active') return { started: [] };
    const config = fromDeploymentRow(row, []).rollout;
    const startedMs = this.c.r.phases.all(id).map((p) => p.started);
    const checkHalt = newFailure && hasFailureLimit(config);
    // Counting the deployment's devices costs O(devices) and this runs after
    // every batch of final reports: only when a threshold or a waiting
    // automatic phase can make something of the counts.
    if (!checkHalt && !mayAdvance(config, startedMs)) return { started: [] };
    const counts = this.phaseCounts(id);
    const reason = checkHalt ? haltReason(config, counts) : undefined;
    if (reason) {
      this.c.r.halt.run(reason, id);
      this.c.appendEvent(events, 'hub', 'deployment.halted', id, Date.now(), { reason });
      return { halted: reason, started: [] };
    }
    const started = phasesToAdvance(config, startedMs, counts);
    for (const phase of started) this.startPhaseIn(events, id, phase, 'hub', advanceWhy(config, phase));
    return { started };
  }
}

function fromWindowRow(row: GroupWindowRow): GroupWindowRecord {
  return { group: row.grp, dynamic: row.dynamic === 1, window: JSON.parse(row.window), setBy: row.set_by, setMs: row.set_ms };
}

function fromGroupRow(row: DynamicGroupRow): DynamicGroupRecord {
  return { name: row.name, query: JSON.parse(row.query), createdMs: row.created, createdBy: row.created_by };
}

/** The next operator pause point above `level` (or `level` when none is left). */
function nextPauseLevel(config: RolloutConfig, level: number): number {
  for (const stage of config.pauseBefore) if (stageLevel(stage) > level) return stageLevel(stage);
  return level;
}
