import type { Database as Db } from 'better-sqlite3';
import type { DeploymentDeviceStatus } from './store';
import type { DeploymentRow } from './deployment-rows';

// Prepared statements of the rollout tables (migration 0004): phases,
// release levels, retries, dynamic groups.

export interface PhaseRow {
  number: number;
  started: number;
  released: number;
}

export interface DynamicGroupRow {
  name: string;
  query: string;
  created: number;
  created_by: string;
}

export interface GroupWindowRow {
  grp: string;
  dynamic: number;
  window: string;
  set_by: string;
  set_ms: number;
}

export function prepareRolloutStatements(db: Db) {
  return {
    insertPhase: db.prepare('INSERT INTO deployment_phases (deployment_id, number, started) VALUES (?, ?, ?)'),
    phases: db.prepare<[string], PhaseRow>('SELECT number, started, released FROM deployment_phases WHERE deployment_id = ? ORDER BY number'),
    phaseCounts: db.prepare<[string], { phase: number; status: DeploymentDeviceStatus; n: number }>(
      'SELECT phase, status, COUNT(*) AS n FROM deployment_devices WHERE deployment_id = ? GROUP BY phase, status',
    ),
    startPhase: db.prepare('UPDATE deployment_phases SET started = ? WHERE deployment_id = ? AND number = ? AND started = 0'),
    releasePhase: db.prepare('UPDATE deployment_phases SET released = ? WHERE deployment_id = ? AND number = ? AND released < ?'),
    releaseDevice: db.prepare('UPDATE deployment_devices SET released = ? WHERE deployment_id = ? AND device_id = ? AND released < ?'),
    deviceLevel: db.prepare<[string, string], { level: number }>(
      `SELECT MAX(dd.released, COALESCE(p.released, 0)) AS level FROM deployment_devices dd
       LEFT JOIN deployment_phases p ON p.deployment_id = dd.deployment_id AND p.number = dd.phase
       WHERE dd.deployment_id = ? AND dd.device_id = ?`,
    ),
    paused: db.prepare<[string], { device_id: string; status: DeploymentDeviceStatus; phase: number; level: number }>(
      `SELECT dd.device_id, dd.status, dd.phase, MAX(dd.released, COALESCE(p.released, 0)) AS level FROM deployment_devices dd
       LEFT JOIN deployment_phases p ON p.deployment_id = dd.deployment_id AND p.number = dd.phase
       WHERE dd.deployment_id = ? AND dd.status IN ('paused-before-install', 'paused-before-reboot', 'paused-before-commit')`,
    ),
    // The oldest deployment of a device that is not final, with its own row and its phase.
    work: db.prepare<[string], DeploymentRow & { phase_started: number | null }>(
      `SELECT d.*, p.started AS phase_started FROM deployment_devices dd
       JOIN deployments d ON d.id = dd.deployment_id
       LEFT JOIN deployment_phases p ON p.deployment_id = dd.deployment_id AND p.number = dd.phase
       WHERE dd.device_id = ? AND dd.finished = 0 ORDER BY d.seq LIMIT 1`,
    ),
    openRollouts: db.prepare<[], DeploymentRow>("SELECT * FROM deployments WHERE status IN ('active', 'halted') ORDER BY seq"),
    halt: db.prepare("UPDATE deployments SET status = 'halted', halt_reason = ? WHERE id = ? AND status = 'active'"),
    resume: db.prepare("UPDATE deployments SET status = 'active', halt_reason = '' WHERE id = ? AND status = 'halted'"),
    retry: db.prepare(
      `UPDATE deployment_devices SET status = 'pending', finished = 0, seq = 0, attempt = attempt + 1, bytes_done = 0, reason = ?, updated = ?
       WHERE deployment_id = ? AND device_id = ?`,
    ),
    history: db.prepare<[string], { revision: number; at: number; actor: string; kind: string; entity_id: string; payload: string }>(
      "SELECT * FROM events WHERE entity_id = ? AND kind LIKE 'deployment.%' AND kind <> 'deployment.device' ORDER BY revision",
    ),
    insertJoined: db.prepare(
      'INSERT INTO deployment_devices (deployment_id, device_id, status, reason, updated, finished, phase) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    setTotal: db.prepare('UPDATE deployments SET total = (SELECT COUNT(*) FROM deployment_devices WHERE deployment_id = ?) WHERE id = ?'),
    leave: db.prepare("DELETE FROM deployment_devices WHERE deployment_id = ? AND device_id = ? AND status = 'pending' AND seq = 0 AND attempt = 0"),
    saveGroup: db.prepare(
      `INSERT INTO dynamic_groups (name, query, created, created_by) VALUES (@name, @query, @created, @created_by)
       ON CONFLICT (name) DO UPDATE SET query = excluded.query`,
    ),
    getGroup: db.prepare<[string], DynamicGroupRow>('SELECT * FROM dynamic_groups WHERE name = ?'),
    listGroups: db.prepare<[], DynamicGroupRow>('SELECT * FROM dynamic_groups ORDER BY name'),
    deleteGroup: db.prepare('DELETE FROM dynamic_groups WHERE name = ?'),
    acceptedDevices: db.prepare("SELECT * FROM devices WHERE status = 'accepted' ORDER BY id"),
    putWindow: db.prepare(
      `INSERT INTO group_windows (grp, dynamic, window, set_by, set_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (grp, dynamic) DO UPDATE SET window = excluded.window, set_by = excluded.set_by, set_ms = excluded.set_ms`,
    ),
    deleteWindow: db.prepare('DELETE FROM group_windows WHERE grp = ? AND dynamic = ?'),
    getWindow: db.prepare<[string, number], GroupWindowRow>('SELECT * FROM group_windows WHERE grp = ? AND dynamic = ?'),
    listWindows: db.prepare<[], GroupWindowRow>('SELECT * FROM group_windows ORDER BY grp, dynamic'),
  };
}
