import type { Database as Db } from 'better-sqlite3';
import { defaultRollout, type RolloutConfig } from '../rollouts/rollout-config';
import type { DeploymentDeviceRecord, DeploymentDeviceStatus, DeploymentRecord, DeploymentStatus } from './store';

// Rows and prepared statements of the deployment tables (migration 0003),
// kept apart from sqlite-store.ts so that file stays about devices.

/** The newest log lines kept per device and deployment. */
export const DEPLOYMENT_LOG_LINES = 5000;

export const FINAL_DEVICE_STATUSES: readonly DeploymentDeviceStatus[] = ['success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted'];

export function isFinalStatus(status: string): boolean {
  return (FINAL_DEVICE_STATUSES as readonly string[]).includes(status);
}

export interface DeploymentRow {
  seq: number;
  id: string;
  name: string;
  artifact_id: string;
  artifact_name: string;
  artifact_version: string;
  artifact_size: number;
  status: DeploymentStatus;
  allow_downgrade: number;
  force: number;
  created: number;
  created_by: string;
  finished: number;
  aborted: number;
  aborted_by: string;
  total: number;
  halt_reason: string;
  /** RolloutConfig as JSON ('{}' for deployments made before rollouts). */
  rollout: string;
  dynamic_group: string;
}

export interface DeploymentDeviceRow {
  deployment_id: string;
  device_id: string;
  status: DeploymentDeviceStatus;
  bytes_done: number;
  bytes_total: number;
  reason: string;
  seq: number;
  started: number;
  updated: number;
  finished: number;
  log_next: number;
  phase: number;
  released: number;
  attempt: number;
  /** Joined from deployments. */
  artifact_name: string;
  artifact_version: string;
  deployment_name: string;
}

const DEVICE_COLUMNS = `dd.*, d.artifact_name, d.artifact_version, d.name AS deployment_name
  FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id`;

export function prepareDeploymentStatements(db: Db) {
  return {
    insertDeployment: db.prepare(
      `INSERT INTO deployments (id, name, artifact_id, artifact_name, artifact_version, artifact_size, status, allow_downgrade, force, created, created_by, total, rollout, dynamic_group)
       VALUES (@id, @name, @artifact_id, @artifact_name, @artifact_version, @artifact_size, 'active', @allow_downgrade, @force, @created, @created_by, @total, @rollout, @dynamic_group)`,
    ),
    insertTarget: db.prepare(
      `INSERT INTO deployment_devices (deployment_id, device_id, status, reason, updated, finished, phase) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    getDeployment: db.prepare<[string], DeploymentRow>('SELECT * FROM deployments WHERE id = ?'),
    listDeployments: db.prepare<[number], DeploymentRow>('SELECT * FROM deployments ORDER BY seq DESC LIMIT ?'),
    listDeploymentsByStatus: db.prepare<[string, number], DeploymentRow>('SELECT * FROM deployments WHERE status = ? ORDER BY seq DESC LIMIT ?'),
    counts: db.prepare<[string], { status: DeploymentDeviceStatus; n: number }>(
      'SELECT status, COUNT(*) AS n FROM deployment_devices WHERE deployment_id = ? GROUP BY status',
    ),
    // One row at most, through the partial index of open rows (0007): O(1) where a COUNT was O(devices).
    anyOpen: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM deployment_devices WHERE deployment_id = ? AND finished = 0 LIMIT 1'),
    deploymentDevices: db.prepare<[string], DeploymentDeviceRow>(`SELECT ${DEVICE_COLUMNS} WHERE dd.deployment_id = ? ORDER BY dd.device_id`),
    deploymentDevice: db.prepare<[string, string], DeploymentDeviceRow>(`SELECT ${DEVICE_COLUMNS} WHERE dd.deployment_id = ? AND dd.device_id = ?`),
    deviceDeployments: db.prepare<[string], DeploymentDeviceRow>(`SELECT ${DEVICE_COLUMNS} WHERE dd.device_id = ? ORDER BY d.seq DESC`),
    openDeployments: db.prepare<[string], DeploymentRow>(
      `SELECT d.* FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id
       WHERE dd.device_id = ? AND dd.finished = 0 ORDER BY d.seq`,
    ),
    mayDownload: db.prepare<[string, string], { one: number }>(
      `SELECT 1 AS one FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id
       WHERE dd.device_id = ? AND d.artifact_id = ? LIMIT 1`,
    ),
    pendingTargets: db.prepare<[string], { device_id: string }>("SELECT device_id FROM deployment_devices WHERE deployment_id = ? AND status = 'pending'"),
    inProgressTargets: db.prepare<[string], { device_id: string }>(
      "SELECT device_id FROM deployment_devices WHERE deployment_id = ? AND finished = 0 AND status <> 'pending'",
    ),
    abortPending: db.prepare(
      "UPDATE deployment_devices SET status = 'aborted', reason = ?, updated = ?, finished = ? WHERE deployment_id = ? AND status = 'pending'",
    ),
    markAborted: db.prepare("UPDATE deployments SET status = 'aborted', aborted = ?, aborted_by = ? WHERE id = ?"),
    markFinished: db.prepare("UPDATE deployments SET status = CASE WHEN status IN ('active', 'halted') THEN 'finished' ELSE status END, finished = ? WHERE id = ?"),
    // The seq and final-status rules of UpdateReport, in SQL so that a
    // report never wins over a newer one whatever the order of batches.
    applyReport: db.prepare(
      `UPDATE deployment_devices SET status = @status, bytes_done = @bytes_done, bytes_total = @bytes_total, reason = @reason,
         seq = @seq, updated = @at, started = CASE started WHEN 0 THEN @at ELSE started END,
         finished = CASE WHEN @final = 1 THEN @at ELSE 0 END
       WHERE deployment_id = @deployment_id AND device_id = @device_id AND seq < @seq AND (finished = 0 OR @final = 1) AND attempt = @attempt
       RETURNING log_next, attempt`,
    ),
    deviceStatus: db.prepare<[string, string], { status: DeploymentDeviceStatus }>(
      'SELECT status FROM deployment_devices WHERE deployment_id = ? AND device_id = ?',
    ),
    bumpLog: db.prepare('UPDATE deployment_devices SET log_next = ? WHERE deployment_id = ? AND device_id = ?'),
    insertLog: db.prepare('INSERT INTO deployment_logs (deployment_id, device_id, n, line) VALUES (?, ?, ?, ?)'),
    trimLog: db.prepare('DELETE FROM deployment_logs WHERE deployment_id = ? AND device_id = ? AND n < ?'),
    readLog: db.prepare<[string, string], { line: string }>('SELECT line FROM deployment_logs WHERE deployment_id = ? AND device_id = ? ORDER BY n'),
    newestArtifactNamed: db.prepare<[string], { id: string }>('SELECT id FROM artifacts WHERE name = ? ORDER BY uploaded DESC, id LIMIT 1'),
    groupMembers: db.prepare<[string], { device_id: string }>('SELECT device_id FROM static_groups WHERE name = ? ORDER BY device_id'),
    addMember: db.prepare('INSERT INTO static_groups (name, device_id) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    removeMember: db.prepare('DELETE FROM static_groups WHERE name = ? AND device_id = ?'),
    allMembers: db.prepare<[], { name: string; device_id: string }>('SELECT name, device_id FROM static_groups ORDER BY name, device_id'),
  };
}

export function fromDeploymentRow(row: DeploymentRow, counts: { status: DeploymentDeviceStatus; n: number }[]): DeploymentRecord {
  const byStatus: DeploymentRecord['counts'] = {};
  for (const c of counts) byStatus[c.status] = c.n;
  return {
    id: row.id,
    name: row.name,
    artifactId: row.artifact_id,
    artifactName: row.artifact_name,
    artifactVersion: row.artifact_version,
    artifactSize: row.artifact_size,
    status: row.status,
    allowDowngrade: row.allow_downgrade === 1,
    force: row.force === 1,
    createdMs: row.created,
    createdBy: row.created_by,
    finishedMs: row.finished,
    abortedMs: row.aborted,
    abortedBy: row.aborted_by,
    total: row.total,
    counts: byStatus,
    haltReason: row.halt_reason,
    rollout: parseRollout(row.rollout),
  };
}

const parsed = new Map<string, RolloutConfig>();

/** Parsed once per distinct JSON text: the same deployment is read many times. */
function parseRollout(json: string): RolloutConfig {
  let config = parsed.get(json);
  if (!config) {
    const stored = JSON.parse(json) as Partial<RolloutConfig>;
    config = stored.phases ? (stored as RolloutConfig) : defaultRollout();
    if (parsed.size > 1000) parsed.clear();
    parsed.set(json, config);
  }
  return config;
}

export function fromDeploymentDeviceRow(row: DeploymentDeviceRow): DeploymentDeviceRecord {
  return {
    deploymentId: row.deployment_id,
    deviceId: row.device_id,
    status: row.status,
    bytesDone: row.bytes_done,
    bytesTotal: row.bytes_total,
    reason: row.reason,
    seq: row.seq,
    startedMs: row.started,
    updatedMs: row.updated,
    finishedMs: row.finished,
    artifactName: row.artifact_name,
    artifactVersion: row.artifact_version,
    deploymentName: row.deployment_name,
    phase: row.phase,
    attempt: row.attempt,
    released: row.released,
  };
}
