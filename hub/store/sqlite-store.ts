import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import { DeploymentFinishedError } from './store';
import { defaultRollout, type RolloutConfig } from '../rollouts/rollout-config';
import type { WindowConfig } from '../rollouts/maintenance-window';
import { prepareRolloutStatements } from './rollout-rows';
import { SqliteRollouts } from './sqlite-rollouts';
import { SqliteSessions } from './sqlite-sessions';
import {
  DEPLOYMENT_LOG_LINES,
  fromDeploymentDeviceRow,
  fromDeploymentRow,
  isFinalStatus,
  prepareDeploymentStatements,
  type DeploymentRow,
} from './deployment-rows';
import { deviceFilterSql } from './device-filter-sql';
import { runMigrations } from './migration-runner';
import { migrations } from './migrations';
import type {
  AbortResult,
  AuditQuery,
  KeptRecording,
  NewSession,
  SessionEnd,
  SessionFilter,
  SessionRecord,
  SessionRefusal,
  AdmissionResult,
  AppliedReports,
  ArtifactRecord,
  ContinueRequest,
  ContinueResult,
  DeviceWork,
  DynamicGroupRecord,
  GroupWindowRecord,
  PausedDevice,
  PhaseRecord,
  PhaseStart,
  DeploymentDeviceRecord,
  DeploymentDeviceStatus,
  DeploymentRecord,
  DeploymentStatus,
  DeviceFilter,
  DevicePage,
  DeviceRecord,
  DeviceStatus,
  EventKind,
  GroupRecord,
  HubEvent,
  HubStore,
  NewDeployment,
  NewDevice,
  Operator,
  OperatorRole,
  InventoryUpdate,
  PresenceChange,
  UpdateReportRecord,
} from './store';

interface DeviceRow {
  id: string;
  status: DeviceStatus;
  identity: string;
  public_key: Buffer;
  inventory: string;
  online: number;
  last_seen: number;
  created: number;
  updated: number;
  revision: number;
}

interface EventRow {
  revision: number;
  at: number;
  actor: string;
  kind: EventKind;
  entity_id: string;
  payload: string;
}

interface ArtifactRow {
  id: string;
  name: string;
  version: string;
  grp: string;
  device_types: string;
  provides: string;
  size: number;
  signature_status: ArtifactRecord['signatureStatus'];
  key_id: string;
  uploaded: number;
  uploaded_by: string;
  payload_summary: string;
}

const OPERATOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Opens (creating and migrating as needed) the hub database at `file`. */
export function openSqliteStore(file: string): SqliteStore {
  return new SqliteStore(file);
}

export class SqliteStore implements HubStore {
  readonly hubId: string;
  readonly secret: Buffer;
  private readonly db: Db;
  private head: number;
  private readonly listeners = new Set<(events: HubEvent[]) => void>();
  private readonly filterStatements = new Map<string, Statement>();
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly d: ReturnType<typeof prepareDeploymentStatements>;
  private readonly r: ReturnType<typeof prepareRolloutStatements>;
  private readonly rollouts: SqliteRollouts;
  private readonly remote: SqliteSessions;

  constructor(file: string) {
    const fresh = !existsSync(file);
    this.db = new Database(file);
    // The database holds the token secret and operator token hashes.
    if (fresh) chmodSync(file, 0o600);
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable across process crashes in WAL mode; only an OS crash
    // may lose the last transactions, never corrupt the file.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    runMigrations(this.db, migrations);

    this.s = prepareStatements(this.db);
    this.d = prepareDeploymentStatements(this.db);
    this.r = prepareRolloutStatements(this.db);
    this.rollouts = new SqliteRollouts({
      d: this.d,
      r: this.r,
      mutate: (fn) => this.mutate(fn),
      appendEvent: (events, actor, kind, entityId, at, details) => this.appendEvent(events, actor, kind, entityId, at, details),
      readDeployment: (id) => this.readDeployment(id),
      finishIfDone: (events, id, actor) => this.finishIfDone(events, id, actor),
    });
    this.remote = new SqliteSessions({
      db: this.db,
      mutate: (fn) => this.mutate(fn),
      appendEvent: (events, actor, kind, entityId, at, details) => this.appendEvent(events, actor, kind, entityId, at, details),
      fromEventRow,
    });

    this.head = this.s.head.get()?.r ?? 0;
    const hubId = this.s.getMeta.get('hub_id')?.value;
    const secret = this.s.getMeta.get('secret')?.value;
    if (hubId && secret) {
      this.hubId = hubId;
      this.secret = Buffer.from(secret, 'base64');
    } else {
      this.hubId = randomBytes(8).toString('hex');
      this.secret = randomBytes(32);
      this.mutate((events) => {
        this.s.putMeta.run('hub_id', this.hubId);
        this.s.putMeta.run('secret', this.secret.toString('base64'));
        this.appendEvent(events, 'hub', 'hub.created', this.hubId, Date.now(), { hubId: this.hubId });
      });
    }
  }

  subscribe(listener: (events: HubEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async headRevision(): Promise<number> {
    return this.head;
  }

  async oldestRevision(): Promise<number> {
    return this.s.oldest.get()?.r ?? this.head + 1;
  }

  async deviceStatus(id: string): Promise<DeviceStatus | undefined> {
    return this.s.deviceStatus.get(id)?.status;
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    const row = this.s.getDevice.get(id);
    return row && fromRow(row);
  }

  async enrollDevice(device: NewDevice, actor: string): Promise<DeviceRecord> {
    // A known device asking again (pending devices poll, accepted ones renew
    // their token) changes nothing: answer from a plain read, without taking
    // the write lock.
    const known = this.readDevice(device.id);
    if (known) {
      assertSameKey(known, device);
      return known;
    }
    return this.mutate((events) => {
      const existing = this.readDevice(device.id);
      if (existing) {
        assertSameKey(existing, device);
        return existing;
      }
      return this.writeDevice(events, actor, 'device.enrolled', newDevice(device, 'pending'));
    });
  }

  async preauthorizeDevice(device: NewDevice, actor: string): Promise<DeviceRecord> {
    return this.mutate((events) => {
      const existing = this.readDevice(device.id);
      if (!existing) return this.writeDevice(events, actor, 'device.preauthorized', newDevice(device, 'accepted'));
      assertSameKey(existing, device);
      if (existing.status === 'accepted') return existing;
      return this.writeDevice(events, actor, 'device.admission', { ...existing, status: 'accepted' });
    });
  }

  async setAdmission(target: { ids: string[]; filter?: DeviceFilter }, status: DeviceStatus, actor: string): Promise<AdmissionResult> {
    return this.mutate((events) => {
      const result: AdmissionResult = { changed: [], notFound: [] };
      const ids = target.ids.length ? [...new Set(target.ids)] : this.matchingIds(target.filter ?? {});
      for (const id of ids) {
        const device = this.readDevice(id);
        if (!device) {
          result.notFound.push(id);
          continue;
        }
        if (device.status === status) continue;
        this.writeDevice(events, actor, 'device.admission', { ...device, status });
        result.changed.push(id);
      }
      return result;
    });
  }

  async updateInventory(id: string, attributes: Record<string, string>, full: boolean, actor: string): Promise<DeviceRecord | undefined> {
    // Every agent sends its full inventory on each connect; usually nothing
    // changed, and a plain read says so without taking the write lock.
    const current = this.readDevice(id);
    if (!current || sameRecord(current.inventory, applyInventory(current.inventory, attributes, full))) return undefined;
    return this.mutate((events) => {
      const device = this.readDevice(id);
      if (!device) return undefined;
      const next = applyInventory(device.inventory, attributes, full);
      if (sameRecord(device.inventory, next)) return undefined;
      return this.writeDevice(events, actor, 'device.inventory', { ...device, inventory: sortedRecord(next) });
    });
  }

  async applyInventories(updates: InventoryUpdate[]): Promise<void> {
    // Usually nothing changed (every connect sends the full inventory): plain
    // reads say so without taking the write lock; otherwise every report is
    // applied in order inside one transaction.
    const changes = (u: InventoryUpdate) => {
      const current = this.readDevice(u.deviceId);
      return current !== undefined && !sameRecord(current.inventory, applyInventory(current.inventory, u.attributes, u.full));
    };
    if (!updates.some(changes)) return;
    this.mutate((events) => {
      for (const u of updates) {
        const device = this.readDevice(u.deviceId);
        if (!device) continue;
        const next = applyInventory(device.inventory, u.attributes, u.full);
        if (sameRecord(device.inventory, next)) continue;
        this.writeDevice(events, u.actor, 'device.inventory', { ...device, inventory: sortedRecord(next) });
      }
    });
  }

  async applyPresence(changes: PresenceChange[]): Promise<void> {
    if (!changes.length) return;
    this.mutate((events) => {
      for (const change of changes) {
        // A last-seen time alone (most of a tick while devices report) is one
        // guarded UPDATE: reading and parsing the whole record for it was
        // O(active devices) of JSON per 100 ms tick.
        if (change.online === undefined) {
          this.s.touchDevice.run(change.lastSeenMs, change.deviceId, change.lastSeenMs);
          continue;
        }
        const device = this.readDevice(change.deviceId);
        if (!device) continue;
        const lastSeenMs = Math.max(device.lastSeenMs, change.lastSeenMs);
        if (change.online !== device.online) {
          this.writeDevice(events, change.actor, change.online ? 'device.online' : 'device.offline', { ...device, online: change.online, lastSeenMs });
        } else if (lastSeenMs > device.lastSeenMs) {
          this.s.touchDevice.run(lastSeenMs, device.id, lastSeenMs);
        }
      }
    });
  }

  async markAllOffline(actor: string): Promise<number> {
    return this.mutate((events) => {
      const online = this.s.onlineDevices.all().map(fromRow);
      for (const device of online) this.writeDevice(events, actor, 'device.offline', { ...device, online: false });
      return online.length;
    });
  }

  async listDevices(filter: DeviceFilter, pageSize: number, afterId?: string): Promise<DevicePage> {
    const { where, params } = deviceFilterSql(filter);
    const total = (this.filterStatement(`SELECT COUNT(*) AS n FROM devices WHERE ${where}`).get(...params) as { n: number }).n;
    const rows = this.filterStatement(`SELECT * FROM devices WHERE ${where} AND id > ? ORDER BY id LIMIT ?`).all(
      ...params,
      afterId ?? '',
      pageSize + 1,
    ) as DeviceRow[];
    const more = rows.length > pageSize;
    const devices = rows.slice(0, pageSize).map(fromRow);
    return { devices, total, nextAfterId: more ? devices.at(-1)!.id : undefined };
  }

  async countDevices(status: DeviceStatus): Promise<number> {
    return this.s.countByStatus.get(status)?.n ?? 0;
  }

  async devicesChangedAfter(revision: number, limit: number): Promise<{ devices: DeviceRecord[]; head: number }> {
    // Synchronous read: nothing can commit between the rows and the head.
    return { devices: this.s.changedAfter.all(revision, limit).map(fromRow), head: this.head };
  }

  async eventsAfter(revision: number, limit: number): Promise<HubEvent[]> {
    return this.s.eventsAfter.all(revision, limit).map(fromEventRow);
  }

  async createOperator(name: string, role: OperatorRole, actor: string): Promise<{ name: string; role: OperatorRole; token: string }> {
    checkOperator(name, role);
    const token = `fleet_op_${randomBytes(32).toString('base64url')}`;
    this.mutate((events) => {
      if (this.s.operatorByName.get(name)) throw new Error(`operator "${name}" already exists: pick another name`);
      this.s.putOperator.run(name, role, tokenSha256(token), Date.now());
      this.appendEvent(events, actor, 'operator.created', name, Date.now(), { name, role });
    });
    return { name, role, token };
  }

  async setOperatorToken(name: string, role: OperatorRole, token: string, actor: string): Promise<void> {
    checkOperator(name, role);
    const hash = tokenSha256(token);
    this.mutate((events) => {
      const current = this.s.operatorByName.get(name);
      if (current && current.role === role && current.token_sha256 === hash) return;
      this.s.putOperator.run(name, role, hash, Date.now());
      this.appendEvent(events, actor, current ? 'operator.token_set' : 'operator.created', name, Date.now(), { name, role });
    });
  }

  async operatorByToken(token: string): Promise<Operator | undefined> {
    const row = this.s.operatorByHash.get(tokenSha256(token));
    return row && { name: row.name, role: row.role };
  }

  async addArtifact(artifact: ArtifactRecord): Promise<{ artifact: ArtifactRecord; created: boolean }> {
    return this.mutate((events) => {
      const existing = this.s.getArtifact.get(artifact.id);
      if (existing) return { artifact: fromArtifactRow(existing), created: false };
      this.s.putArtifact.run(toArtifactRow(artifact));
      this.appendEvent(events, artifact.uploadedBy, 'artifact.uploaded', artifact.id, artifact.uploadedMs, {
        name: artifact.name,
        version: artifact.version,
        size: String(artifact.size),
        signatureStatus: artifact.signatureStatus,
        keyId: artifact.keyId,
      });
      return { artifact, created: true };
    });
  }

  async getArtifact(id: string): Promise<ArtifactRecord | undefined> {
    const row = this.s.getArtifact.get(id);
    return row && fromArtifactRow(row);
  }

  async listArtifacts(): Promise<ArtifactRecord[]> {
    return this.s.listArtifacts.all().map(fromArtifactRow);
  }

  async newestArtifactNamed(name: string): Promise<ArtifactRecord | undefined> {
    const row = this.d.newestArtifactNamed.get(name);
    return row && this.getArtifact(row.id);
  }

  async getDevices(ids: string[]): Promise<DeviceRecord[]> {
    const out: DeviceRecord[] = [];
    for (const id of new Set(ids)) {
      const device = this.readDevice(id);
      if (device) out.push(device);
    }
    return out;
  }

  async createDeployment(n: NewDeployment): Promise<DeploymentRecord> {
    const rollout = n.rollout ?? defaultRollout();
    return this.mutate((events) => {
      this.d.insertDeployment.run({
        id: n.id,
        name: n.name,
        artifact_id: n.artifact.id,
        artifact_name: n.artifact.name,
        artifact_version: n.artifact.version,
        artifact_size: n.artifact.size,
        allow_downgrade: n.allowDowngrade ? 1 : 0,
        force: n.force ? 1 : 0,
        created: n.createdMs,
        created_by: n.createdBy,
        total: n.targets.length,
        rollout: JSON.stringify(rollout),
        dynamic_group: rollout.dynamicGroup,
      });
      for (const t of n.targets) {
        this.d.insertTarget.run(n.id, t.deviceId, t.status, t.reason, n.createdMs, isFinalStatus(t.status) ? n.createdMs : 0, t.phase ?? 1);
      }
      rollout.phases.forEach((p, i) => {
        // The first phase starts at creation unless it waits for a time or a hand.
        const startsNow = i === 0 && !p.manual && p.startMs <= n.createdMs;
        this.r.insertPhase.run(n.id, i + 1, startsNow ? n.createdMs : 0);
      });
      const created = this.readDeployment(n.id)!;
      this.appendEvent(events, n.createdBy, 'deployment.created', n.id, n.createdMs, {
        name: n.name,
        artifactId: n.artifact.id,
        artifactName: n.artifact.name,
        artifactVersion: n.artifact.version,
        total: String(n.targets.length),
        counts: JSON.stringify(created.counts),
      });
      this.rollouts.evaluateRollout(events, n.id, false);
      this.finishIfDone(events, n.id, 'hub');
      return this.readDeployment(n.id)!;
    });
  }

  async getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    return this.readDeployment(id);
  }

  async listDeployments(opts: { status?: DeploymentStatus; limit: number }): Promise<DeploymentRecord[]> {
    const rows = opts.status ? this.d.listDeploymentsByStatus.all(opts.status, opts.limit) : this.d.listDeployments.all(opts.limit);
    return rows.map((row) => this.withCounts(row));
  }

  async deploymentDevices(deploymentId: string): Promise<DeploymentDeviceRecord[]> {
    return this.d.deploymentDevices.all(deploymentId).map(fromDeploymentDeviceRow);
  }

  async getDeploymentDevice(deploymentId: string, deviceId: string): Promise<DeploymentDeviceRecord | undefined> {
    const row = this.d.deploymentDevice.get(deploymentId, deviceId);
    return row && fromDeploymentDeviceRow(row);
  }

  async deviceDeployments(deviceId: string): Promise<DeploymentDeviceRecord[]> {
    return this.d.deviceDeployments.all(deviceId).map(fromDeploymentDeviceRow);
  }

  async openDeployments(deviceId: string): Promise<DeploymentRecord[]> {
    // Counts are not needed by the callers (commands to one device): skip them.
    return this.d.openDeployments.all(deviceId).map((row) => fromDeploymentRow(row, []));
  }

  async deviceMayDownload(deviceId: string, artifactId: string): Promise<boolean> {
    return this.d.mayDownload.get(deviceId, artifactId) !== undefined;
  }

  async abortDeployment(id: string, actor: string): Promise<AbortResult | undefined> {
    return this.mutate((events) => {
      const row = this.d.getDeployment.get(id);
      if (!row) return undefined;
      if (row.status === 'finished') throw new DeploymentFinishedError(id);
      if (row.status === 'aborted') return { deployment: this.withCounts(row), abortedPending: [], inProgress: [] };
      const now = Date.now();
      const abortedPending = this.d.pendingTargets.all(id).map((r) => r.device_id);
      const inProgress = this.d.inProgressTargets.all(id).map((r) => r.device_id);
      this.d.abortPending.run(`aborted by ${actor} before the device started`, now, now, id);
      this.d.markAborted.run(now, actor, id);
      this.appendEvent(events, actor, 'deployment.aborted', id, now, {
        abortedPending: String(abortedPending.length),
        inProgress: String(inProgress.length),
      });
      this.finishIfDone(events, id, actor);
      return { deployment: this.readDeployment(id)!, abortedPending, inProgress };
    });
  }

  async applyUpdateReports(reports: UpdateReportRecord[]): Promise<AppliedReports> {
    if (!reports.length) return { finals: [], finished: [], retried: [], halted: [], phasesStarted: [] };
    return this.mutate((events) => {
      const applied: Required<AppliedReports> = { finals: [], finished: [], retried: [], halted: [], phasesStarted: [] };
      // Deployment id -> whether a device failed in this batch (only then can a threshold newly be exceeded).
      const touched = new Map<string, boolean>();
      for (const r of reports) {
        const final = isFinalStatus(r.status);
        // Agents re-send their last (final) report after every reconnect: an
        // unchanged final status is stored (seq, logs) but makes no new event.
        const before = final ? this.d.deviceStatus.get(r.deploymentId, r.deviceId)?.status : undefined;
        const row = this.d.applyReport.get({
          deployment_id: r.deploymentId,
          device_id: r.deviceId,
          status: r.status,
          bytes_done: r.bytesDone,
          bytes_total: r.bytesTotal,
          reason: r.reason,
          seq: r.seq,
          at: r.atMs,
          final: final ? 1 : 0,
          attempt: r.attempt ?? 0,
        }) as { log_next: number; attempt: number } | undefined;
        if (!row) continue;
        this.appendLog(r, row.log_next);
        if (!final) continue;
        applied.finals.push({ deploymentId: r.deploymentId, deviceId: r.deviceId, status: r.status });
        if (before === r.status) continue;
        const failed = r.status === 'failure' || r.status === 'rolled-back';
        const retries = failed ? this.rollouts.rolloutOf(r.deploymentId).retries : 0;
        const retry = failed && row.attempt < retries;
        this.appendEvent(events, `device:${r.deviceId}`, 'deployment.device', r.deploymentId, r.atMs, {
          deviceId: r.deviceId,
          status: r.status,
          reason: r.reason,
          ...(failed && retries ? { attempt: String(row.attempt), retry: retry ? 'yes' : 'no' } : {}),
        });
        if (retry) {
          const reason = `attempt ${row.attempt + 1} of ${retries + 1} ended ${r.status}${r.reason ? ` (${r.reason})` : ''}: offered again`;
          this.r.retry.run(reason, r.atMs, r.deploymentId, r.deviceId);
          applied.retried.push({ deploymentId: r.deploymentId, deviceId: r.deviceId, attempt: row.attempt + 1 });
        }
        touched.set(r.deploymentId, (touched.get(r.deploymentId) ?? false) || (failed && !retry));
      }
      for (const [id, newFailure] of touched) {
        const outcome = this.rollouts.evaluateRollout(events, id, newFailure);
        if (outcome.halted) applied.halted.push({ deploymentId: id, reason: outcome.halted });
        for (const phase of outcome.started) applied.phasesStarted.push({ deploymentId: id, phase });
        if (this.finishIfDone(events, id, 'hub')) applied.finished.push(id);
      }
      return applied;
    });
  }

  async deploymentLog(deploymentId: string, deviceId: string): Promise<string[]> {
    return this.d.readLog.all(deploymentId, deviceId).map((r) => r.line);
  }

  async setGroupMembers(name: string, add: string[], remove: string[], actor: string): Promise<GroupRecord> {
    return this.mutate((events) => {
      let added = 0;
      let removed = 0;
      for (const id of new Set(add)) added += this.d.addMember.run(name, id).changes;
      for (const id of new Set(remove)) removed += this.d.removeMember.run(name, id).changes;
      if (added || removed) this.appendEvent(events, actor, 'group.changed', name, Date.now(), { name, added: String(added), removed: String(removed) });
      return { name, deviceIds: this.d.groupMembers.all(name).map((r) => r.device_id) };
    });
  }

  async listGroups(): Promise<GroupRecord[]> {
    const groups = new Map<string, string[]>();
    for (const { name, device_id } of this.d.allMembers.all()) {
      const members = groups.get(name) ?? [];
      members.push(device_id);
      groups.set(name, members);
    }
    return [...groups].map(([name, deviceIds]) => ({ name, deviceIds }));
  }

  async groupMembers(name: string): Promise<string[]> {
    return this.d.groupMembers.all(name).map((r) => r.device_id);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    this.listeners.clear();
  }

  async deploymentPhases(id: string): Promise<PhaseRecord[]> {
    return this.rollouts.deploymentPhases(id);
  }

  async deviceWork(deviceId: string): Promise<DeviceWork | undefined> {
    return this.rollouts.deviceWork(deviceId);
  }

  async pausedDevices(deploymentId: string): Promise<PausedDevice[]> {
    return this.rollouts.pausedDevices(deploymentId);
  }

  async releaseLevel(deploymentId: string, deviceId: string): Promise<number | undefined> {
    return this.rollouts.releaseLevel(deploymentId, deviceId);
  }

  async rolloutState(id: string): Promise<{ status: DeploymentStatus; rollout: RolloutConfig } | undefined> {
    return this.rollouts.rolloutState(id);
  }

  async openRollouts(): Promise<DeploymentRecord[]> {
    return this.rollouts.openRollouts();
  }

  async startPhase(id: string, phase: number, actor: string, why: string): Promise<boolean> {
    return this.rollouts.startPhase(id, phase, actor, why);
  }

  async continueDeployment(id: string, req: ContinueRequest, actor: string): Promise<ContinueResult> {
    return this.rollouts.continueDeployment(id, req, actor);
  }

  async pauseDeployment(id: string, reason: string, actor: string): Promise<DeploymentRecord> {
    return this.rollouts.pauseDeployment(id, reason, actor);
  }

  async resumeDeployment(id: string, actor: string): Promise<{ deployment: DeploymentRecord; phasesStarted: PhaseStart[] }> {
    return this.rollouts.resumeDeployment(id, actor);
  }

  async deploymentHistory(id: string): Promise<HubEvent[]> {
    return this.r.history.all(id).map((row) => fromEventRow(row as EventRow));
  }

  async joinDeployment(id: string, t: { deviceId: string; status: DeploymentDeviceStatus; reason: string }, actor: string): Promise<DeploymentDeviceRecord | undefined> {
    return this.rollouts.joinDeployment(id, t, actor);
  }

  async leaveDeployment(id: string, deviceId: string, actor: string): Promise<boolean> {
    return this.rollouts.leaveDeployment(id, deviceId, actor);
  }

  async saveDynamicGroup(group: DynamicGroupRecord, replace: boolean): Promise<DynamicGroupRecord> {
    return this.rollouts.saveDynamicGroup(group, replace);
  }

  async listDynamicGroups(): Promise<DynamicGroupRecord[]> {
    return this.rollouts.listDynamicGroups();
  }

  async getDynamicGroup(name: string): Promise<DynamicGroupRecord | undefined> {
    return this.rollouts.getDynamicGroup(name);
  }

  async deleteDynamicGroup(name: string, actor: string): Promise<DynamicGroupRecord | undefined> {
    return this.rollouts.deleteDynamicGroup(name, actor);
  }

  async acceptedDevices(): Promise<DeviceRecord[]> {
    return (this.r.acceptedDevices.all() as DeviceRow[]).map(fromRow);
  }

  async setGroupWindow(group: string, dynamic: boolean, window: WindowConfig | undefined, actor: string): Promise<GroupWindowRecord | undefined> {
    return this.rollouts.setGroupWindow(group, dynamic, window, actor);
  }

  async groupWindow(group: string, dynamic: boolean): Promise<GroupWindowRecord | undefined> {
    return this.rollouts.groupWindow(group, dynamic);
  }

  async groupWindows(): Promise<GroupWindowRecord[]> {
    return this.rollouts.groupWindows();
  }

  async openSession(session: NewSession): Promise<SessionRecord> {
    return this.remote.openSession(session);
  }

  async endSession(id: string, end: SessionEnd, details?: Record<string, string>): Promise<SessionRecord | undefined> {
    return this.remote.endSession(id, end, details);
  }

  async recordSessionRefusal(refusal: SessionRefusal): Promise<void> {
    return this.remote.recordSessionRefusal(refusal);
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    return this.remote.getSession(id);
  }

  async listSessions(filter: SessionFilter, pageSize: number, beforeSeq?: number): Promise<{ sessions: SessionRecord[]; nextBeforeSeq?: number }> {
    return this.remote.listSessions(filter, pageSize, beforeSeq);
  }

  async endOrphanSessions(reason: string): Promise<number> {
    return this.remote.endOrphanSessions(reason);
  }

  async keptRecordings(): Promise<KeptRecording[]> {
    return this.remote.keptRecordings();
  }

  async markRecordingsPruned(pruned: Array<{ id: string; reason: string }>, atMs: number): Promise<number> {
    return this.remote.markRecordingsPruned(pruned, atMs);
  }

  async auditEntries(query: AuditQuery): Promise<HubEvent[]> {
    return this.remote.auditEntries(query);
  }

  /** Runs `fn` in one transaction; its events reach listeners only after commit. */
  private mutate<T>(fn: (events: HubEvent[]) => T): T {
    const events: HubEvent[] = [];
    const headBefore = this.head;
    let result: T;
    try {
      // IMMEDIATE takes the write lock first, so the head read here is the
      // true one even when another process (fleet-hub operators add) wrote.
      result = this.db
        .transaction(() => {
          this.head = this.s.head.get()?.r ?? 0;
          return fn(events);
        })
        .immediate();
    } catch (err) {
      this.head = headBefore;
      throw err;
    }
    if (events.length) {
      for (const listener of this.listeners) {
        try {
          listener(events);
        } catch {
          // A failing listener must not undo a committed change nor starve the others.
        }
      }
    }
    return result;
  }

  private readDeployment(id: string): DeploymentRecord | undefined {
    const row = this.d.getDeployment.get(id);
    return row && this.withCounts(row);
  }

  private withCounts(row: DeploymentRow): DeploymentRecord {
    return fromDeploymentRow(row, this.d.counts.all(row.id));
  }

  /** Marks the deployment finished when no device is left in progress; true when it did. */
  private finishIfDone(events: HubEvent[], id: string, actor: string): boolean {
    const row = this.d.getDeployment.get(id);
    if (!row || row.finished !== 0 || this.d.anyOpen.get(id)) return false;
    if (row.dynamic_group && row.status !== 'aborted') {
      // Open to devices that come to match its group until aborted or full.
      const max = this.rollouts.rolloutOf(id).maxDevices;
      if (!max || row.total < max) return false;
    }
    const now = Date.now();
    this.d.markFinished.run(now, id);
    const done = this.withCounts({ ...row, finished: now });
    this.appendEvent(events, actor, 'deployment.finished', id, now, { status: row.status === 'active' ? 'finished' : row.status, counts: JSON.stringify(done.counts) });
    return true;
  }

  /** Appends a report's log lines, keeping the newest DEPLOYMENT_LOG_LINES. */
  private appendLog(r: UpdateReportRecord, next: number): void {
    if (!r.logLines.length) return;
    // Only the newest lines can survive the cap: skip the others outright.
    const lines = r.logLines.slice(-DEPLOYMENT_LOG_LINES);
    const first = next + r.logLines.length - lines.length;
    lines.forEach((line, i) => this.d.insertLog.run(r.deploymentId, r.deviceId, first + i, line));
    const end = first + lines.length;
    this.d.bumpLog.run(end, r.deploymentId, r.deviceId);
    if (end > DEPLOYMENT_LOG_LINES) this.d.trimLog.run(r.deploymentId, r.deviceId, end - DEPLOYMENT_LOG_LINES);
  }

  private readDevice(id: string): DeviceRecord | undefined {
    const row = this.s.getDevice.get(id);
    return row && fromRow(row);
  }

  private writeDevice(events: HubEvent[], actor: string, kind: EventKind, device: DeviceRecord): DeviceRecord {
    const at = Date.now();
    const revision = this.head + 1;
    const next: DeviceRecord = { ...device, updatedMs: at, revision };
    this.s.putDevice.run(toRow(next));
    this.appendEvent(events, actor, kind, next.id, at, undefined, next);
    return next;
  }

  private appendEvent(events: HubEvent[], actor: string, kind: EventKind, entityId: string, at: number, details?: Record<string, string>, device?: DeviceRecord): void {
    const revision = ++this.head;
    const payload = device ? deviceJson(device) : details ?? {};
    this.s.insertEvent.run(revision, at, actor, kind, entityId, JSON.stringify(payload));
    events.push({ revision, atMs: at, actor, kind, entityId, device, details });
  }

  private matchingIds(filter: DeviceFilter): string[] {
    const { where, params } = deviceFilterSql(filter);
    return (this.filterStatement(`SELECT id FROM devices WHERE ${where} ORDER BY id`).all(...params) as { id: string }[]).map((r) => r.id);
  }

  private filterStatement(sql: string): Statement {
    let statement = this.filterStatements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      // Filters combine a handful of shapes; the cap only guards against abuse.
      if (this.filterStatements.size > 200) this.filterStatements.clear();
      this.filterStatements.set(sql, statement);
    }
    return statement;
  }
}

function prepareStatements(db: Db) {
  return {
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    putMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)'),
    head: db.prepare<[], { r: number | null }>('SELECT MAX(revision) AS r FROM events'),
    oldest: db.prepare<[], { r: number | null }>('SELECT MIN(revision) AS r FROM events'),
    getArtifact: db.prepare<[string], ArtifactRow>('SELECT * FROM artifacts WHERE id = ?'),
    listArtifacts: db.prepare<[], ArtifactRow>('SELECT * FROM artifacts ORDER BY uploaded DESC, id'),
    putArtifact: db.prepare(
      `INSERT INTO artifacts (id, name, version, grp, device_types, provides, size, signature_status, key_id, uploaded, uploaded_by, payload_summary)
       VALUES (@id, @name, @version, @grp, @device_types, @provides, @size, @signature_status, @key_id, @uploaded, @uploaded_by, @payload_summary)`,
    ),
    insertEvent: db.prepare('INSERT INTO events (revision, at, actor, kind, entity_id, payload) VALUES (?, ?, ?, ?, ?, ?)'),
    eventsAfter: db.prepare<[number, number], EventRow>('SELECT * FROM events WHERE revision > ? ORDER BY revision LIMIT ?'),
    getDevice: db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?'),
    deviceStatus: db.prepare<[string], { status: DeviceStatus }>('SELECT status FROM devices WHERE id = ?'),
    putDevice: db.prepare(
      `INSERT INTO devices (id, status, identity, public_key, inventory, online, last_seen, created, updated, revision)
       VALUES (@id, @status, @identity, @public_key, @inventory, @online, @last_seen, @created, @updated, @revision)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, identity = excluded.identity, inventory = excluded.inventory,
         online = excluded.online, last_seen = excluded.last_seen, updated = excluded.updated, revision = excluded.revision`,
    ),
    touchDevice: db.prepare('UPDATE devices SET last_seen = ? WHERE id = ? AND last_seen < ?'),
    countByStatus: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM devices WHERE status = ?'),
    onlineDevices: db.prepare<[], DeviceRow>('SELECT * FROM devices WHERE online = 1'),
    changedAfter: db.prepare<[number, number], DeviceRow>('SELECT * FROM devices WHERE revision > ? ORDER BY revision LIMIT ?'),
    operatorByHash: db.prepare<[string], { name: string; role: OperatorRole }>('SELECT name, role FROM operators WHERE token_sha256 = ?'),
    operatorByName: db.prepare<[string], { name: string; role: OperatorRole; token_sha256: string }>('SELECT * FROM operators WHERE name = ?'),
    putOperator: db.prepare(
      `INSERT INTO operators (name, role, token_sha256, created) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET role = excluded.role, token_sha256 = excluded.token_sha256`,
    ),
  };
}

function checkOperator(name: string, role: OperatorRole): void {
  if (!OPERATOR_NAME.test(name)) throw new Error(`operator name "${name}" is not valid: use letters, digits, '.', '_', '@' or '-' (at most 64)`);
  if (!['viewer', 'operator', 'admin'].includes(role)) throw new Error(`role "${role}" is not valid: use viewer, operator or admin`);
}

function assertSameKey(existing: DeviceRecord, device: NewDevice): void {
  if (!existing.publicKey.equals(device.publicKey)) throw new Error(`device id ${device.id} is already bound to a different public key`);
}

function newDevice(device: NewDevice, status: DeviceStatus): DeviceRecord {
  const now = Date.now();
  return {
    id: device.id,
    status,
    identity: sortedRecord(device.identity),
    publicKey: Buffer.from(device.publicKey),
    inventory: {},
    online: false,
    lastSeenMs: 0,
    createdMs: now,
    updatedMs: now,
    revision: 0,
  };
}

function fromRow(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    status: row.status,
    identity: JSON.parse(row.identity),
    publicKey: row.public_key,
    inventory: JSON.parse(row.inventory),
    online: row.online === 1,
    lastSeenMs: row.last_seen,
    createdMs: row.created,
    updatedMs: row.updated,
    revision: row.revision,
  };
}

function toRow(d: DeviceRecord): DeviceRow {
  return {
    id: d.id,
    status: d.status,
    identity: JSON.stringify(d.identity),
    public_key: d.publicKey,
    inventory: JSON.stringify(d.inventory),
    online: d.online ? 1 : 0,
    last_seen: d.lastSeenMs,
    created: d.createdMs,
    updated: d.updatedMs,
    revision: d.revision,
  };
}

function toArtifactRow(a: ArtifactRecord): ArtifactRow {
  return {
    id: a.id,
    name: a.name,
    version: a.version,
    grp: a.group,
    device_types: JSON.stringify(a.deviceTypes),
    provides: JSON.stringify(sortedRecord(a.provides)),
    size: a.size,
    signature_status: a.signatureStatus,
    key_id: a.keyId,
    uploaded: a.uploadedMs,
    uploaded_by: a.uploadedBy,
    payload_summary: a.payloadSummary,
  };
}

function fromArtifactRow(row: ArtifactRow): ArtifactRecord {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    group: row.grp,
    deviceTypes: JSON.parse(row.device_types),
    provides: JSON.parse(row.provides),
    size: row.size,
    signatureStatus: row.signature_status,
    keyId: row.key_id,
    uploadedMs: row.uploaded,
    uploadedBy: row.uploaded_by,
    payloadSummary: row.payload_summary,
  };
}

/** The device snapshot as stored in an event's payload (key in base64). */
function deviceJson(d: DeviceRecord): Record<string, unknown> {
  return { ...d, publicKey: d.publicKey.toString('base64') };
}

function fromEventRow(row: EventRow): HubEvent {
  const payload = JSON.parse(row.payload);
  const event: HubEvent = { revision: row.revision, atMs: row.at, actor: row.actor, kind: row.kind, entityId: row.entity_id };
  if (row.kind.startsWith('device.')) event.device = { ...payload, publicKey: Buffer.from(payload.publicKey, 'base64') };
  else event.details = payload;
  return event;
}

/** The inventory after a full report (replaces) or a patch (empty value deletes). */
function applyInventory(inventory: Record<string, string>, attributes: Record<string, string>, full: boolean): Record<string, string> {
  const next: Record<string, string> = full ? {} : { ...inventory };
  for (const [key, value] of Object.entries(attributes)) {
    if (value === '') delete next[key];
    else next[key] = value;
  }
  return next;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key];
  return out;
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  return ak.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
