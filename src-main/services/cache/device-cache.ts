import Database from 'better-sqlite3';
import type { AdmissionStatus, DeviceDetail, DevicePage, DeviceQuery, DeviceRow } from '../../common/console-api';
import { deviceQuerySql } from './device-query-sql';
import { migrate } from './migration';
import { cacheMigrations } from './migrations';

/** A device snapshot as the cache stores it: the detail plus its hub. */
export interface DeviceRecord extends DeviceDetail {
  hubId: string;
}

/** Where the cache stands relative to its hub. */
export interface CacheMeta {
  /** hub the cached rows come from ('' = none yet) */
  hubId: string;
  /** Watch cursor: last hub revision applied */
  revision: number;
  /** last moment the cache was known in sync with the hub */
  syncedAtMs: number;
  /** a resync started and its snapshot has not finished yet */
  resyncPending: boolean;
}

interface DeviceDbRow {
  id: string;
  status: AdmissionStatus;
  online: number;
  device_type: string;
  os: string;
  last_seen_ms: number;
  created_ms: number;
  revision: number;
}

interface DeviceDetailDbRow extends DeviceDbRow {
  identity_json: string;
  inventory_json: string;
  public_key: string;
}

const LIST_COLUMNS = 'id, status, online, device_type, os, last_seen_ms, created_ms, revision';

// The console's local copy of the fleet (better-sqlite3, WAL). Reads serve the
// UI offline; writes come only from the hub's change feed (hub-sync), so the
// hub stays the one source of truth.
export class DeviceCache {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** per-status counts, kept until the next write */
  private countsMemo: Record<AdmissionStatus, number> | null = null;

  constructor(file: string) {
    this.db = new Database(file);
    try {
      this.configure();
    } catch (err) {
      this.db.close();
      throw new Error(`cannot open the console cache ${file}: ${(err as Error).message}; it holds only copies of hub data, so it can be deleted and is rebuilt on the next sync`);
    }
  }

  private configure(): void {
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    // 64 MiB of page cache holds a 100,000-device list, so filtering and
    // sorting it does not go back to the file.
    this.db.pragma('cache_size = -65536');
    migrate(this.db, cacheMigrations);
  }

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  query(query: DeviceQuery): DevicePage {
    const sql = deviceQuerySql(query);
    const rows = this.stmt(`SELECT ${LIST_COLUMNS} FROM devices ${sql.where} ORDER BY ${sql.orderBy} LIMIT ? OFFSET ?`)
      .all(...sql.params, sql.limit, sql.offset) as DeviceDbRow[];
    const total = sql.where
      ? (this.stmt(`SELECT count(*) AS n FROM devices ${sql.countWhere}`).get(...sql.params) as { n: number }).n
      : undefined;
    const counts = this.counts();
    return {
      total: total ?? counts.pending + counts.accepted + counts.rejected,
      offset: sql.offset,
      rows: rows.map(toRow),
      counts,
    };
  }

  counts(): Record<AdmissionStatus, number> {
    if (this.countsMemo) return { ...this.countsMemo };
    const counts: Record<AdmissionStatus, number> = { pending: 0, accepted: 0, rejected: 0 };
    for (const r of this.stmt('SELECT status, count(*) AS n FROM devices GROUP BY status').all() as { status: AdmissionStatus; n: number }[]) {
      counts[r.status] = r.n;
    }
    this.countsMemo = counts;
    return { ...counts };
  }

  get(id: string): DeviceDetail | null {
    if (typeof id !== 'string' || !id) throw new Error('device id must be a non-empty string');
    const r = this.stmt(`SELECT ${LIST_COLUMNS.replace(/(\w+)/g, 'd.$1')}, identity_json, inventory_json, public_key FROM devices d JOIN device_details USING (id) WHERE id = ?`).get(id) as DeviceDetailDbRow | undefined;
    if (!r) return null;
    return { ...toRow(r), identity: JSON.parse(r.identity_json), inventory: JSON.parse(r.inventory_json), publicKey: r.public_key };
  }

  /**
   * Call inside transaction(). Stores a snapshot unless the cache already holds the same or a newer
   * revision of it (so replays are harmless). A stale row (resync in
   * progress) or one from another hub is always replaced. Returns whether
   * the row changed.
   */
  upsert(d: DeviceRecord): boolean {
    const search = [d.id, d.deviceType, d.os, ...Object.values(d.identity), ...Object.values(d.inventory)].join('\n').toLowerCase();
    const info = this.stmt(`
      INSERT INTO devices (id, hub_id, status, online, device_type, os, last_seen_ms, created_ms, revision, search, stale)
      VALUES (@id, @hubId, @status, @online, @deviceType, @os, @lastSeenMs, @createdMs, @revision, @search, 0)
      ON CONFLICT (id) DO UPDATE SET
        hub_id = excluded.hub_id, status = excluded.status, online = excluded.online, device_type = excluded.device_type,
        os = excluded.os, last_seen_ms = excluded.last_seen_ms, created_ms = excluded.created_ms, revision = excluded.revision,
        search = excluded.search, stale = 0
      WHERE excluded.revision > devices.revision OR devices.stale = 1 OR devices.hub_id <> excluded.hub_id
    `).run({
      id: d.id,
      hubId: d.hubId,
      status: d.status,
      online: d.online ? 1 : 0,
      deviceType: d.deviceType,
      os: d.os,
      lastSeenMs: d.lastSeenMs,
      createdMs: d.createdMs,
      revision: d.revision,
      search,
    });
    if (info.changes === 0) return false;
    this.countsMemo = null;
    this.stmt(`
      INSERT INTO device_details (id, identity_json, inventory_json, public_key) VALUES (?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET identity_json = excluded.identity_json, inventory_json = excluded.inventory_json, public_key = excluded.public_key
    `).run(d.id, JSON.stringify(d.identity), JSON.stringify(d.inventory), d.publicKey);
    return true;
  }

  /** Start of a resync: every cached row is suspect until the snapshot names it. */
  markAllStale(): void {
    this.stmt('UPDATE devices SET stale = 1').run();
    this.countsMemo = null;
  }

  /** End of a resync: rows the snapshot did not name are gone from the hub. */
  deleteStale(): number {
    this.countsMemo = null;
    return this.stmt('DELETE FROM devices WHERE stale = 1').run().changes;
  }

  meta(): CacheMeta {
    const m = new Map((this.stmt('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    return {
      hubId: m.get('hub_id') ?? '',
      revision: Number(m.get('revision') ?? 0),
      syncedAtMs: Number(m.get('synced_at_ms') ?? 0),
      resyncPending: m.get('resync_pending') === '1',
    };
  }

  setMeta(patch: Partial<CacheMeta>): void {
    const put = this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.transaction(() => {
      if (patch.hubId !== undefined) put.run('hub_id', patch.hubId);
      if (patch.revision !== undefined) put.run('revision', String(patch.revision));
      if (patch.syncedAtMs !== undefined) put.run('synced_at_ms', String(patch.syncedAtMs));
      if (patch.resyncPending !== undefined) put.run('resync_pending', patch.resyncPending ? '1' : '0');
    });
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}

function toRow(r: DeviceDbRow): DeviceRow {
  return {
    id: r.id,
    status: r.status,
    online: r.online === 1,
    deviceType: r.device_type,
    os: r.os,
    lastSeenMs: r.last_seen_ms,
    createdMs: r.created_ms,
    revision: r.revision,
  };
}
