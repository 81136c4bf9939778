import type { Database as Db, Statement } from 'better-sqlite3';
import type { AuditQuery, EventKind, HubEvent, KeptRecording, NewSession, SessionEnd, SessionFilter, SessionKind, SessionRecord, SessionRefusal } from './store';

interface SessionRow {
  seq: number;
  id: string;
  device_id: string;
  operator: string;
  kind: SessionKind;
  detail: string;
  started: number;
  ended: number;
  end_reason: string;
  bytes_to_device: number;
  bytes_from_device: number;
  recorded: number;
  recording_bytes: number;
  recording_truncated: number;
  recording_pruned: number;
  recording_pruned_reason: string;
}

export interface EventRowLike {
  revision: number;
  at: number;
  actor: string;
  kind: EventKind;
  entity_id: string;
  payload: string;
}

/** What the sessions half of the SQLite store needs from the rest of it. */
export interface SessionStoreCore {
  readonly db: Db;
  /** One write transaction; events reach listeners after commit. */
  mutate<T>(fn: (events: HubEvent[]) => T): T;
  appendEvent(events: HubEvent[], actor: string, kind: EventKind, entityId: string, at: number, details?: Record<string, string>): void;
  fromEventRow(row: EventRowLike): HubEvent;
}

// Remote sessions in SQLite (migration 0006) and the audit view of the event
// log. SqliteStore delegates to it.
export class SqliteSessions {
  private readonly s;
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly c: SessionStoreCore) {
    const db = c.db;
    this.s = {
      insert: db.prepare(
        `INSERT INTO remote_sessions (id, device_id, operator, kind, detail, started, recorded)
         VALUES (@id, @device_id, @operator, @kind, @detail, @started, @recorded)`,
      ),
      get: db.prepare<[string], SessionRow>('SELECT * FROM remote_sessions WHERE id = ?'),
      end: db.prepare(
        `UPDATE remote_sessions SET ended = @ended, end_reason = @end_reason, bytes_to_device = @bytes_to_device,
           bytes_from_device = @bytes_from_device, recording_bytes = @recording_bytes, recording_truncated = @recording_truncated
         WHERE id = @id AND ended = 0`,
      ),
      open: db.prepare<[], SessionRow>('SELECT * FROM remote_sessions WHERE ended = 0'),
      kept: db.prepare<[], { id: string; device_id: string; ended: number; recording_bytes: number }>(
        `SELECT id, device_id, ended, recording_bytes FROM remote_sessions
         WHERE recorded = 1 AND recording_pruned = 0 ORDER BY ended = 0, ended, seq`,
      ),
      prune: db.prepare<{ id: string; at: number; reason: string }>(
        'UPDATE remote_sessions SET recording_pruned = @at, recording_pruned_reason = @reason WHERE id = @id AND recorded = 1 AND recording_pruned = 0 AND ended > 0',
      ),
    };
  }

  async openSession(n: NewSession): Promise<SessionRecord> {
    return this.c.mutate((events) => {
      this.s.insert.run({ id: n.id, device_id: n.deviceId, operator: n.operator, kind: n.kind, detail: n.detail, started: n.startedMs, recorded: n.recorded ? 1 : 0 });
      this.c.appendEvent(events, n.operator, 'session.opened', n.deviceId, n.startedMs, { session: n.id, kind: n.kind, detail: n.detail, recorded: String(n.recorded) });
      return fromRow(this.s.get.get(n.id)!);
    });
  }

  async endSession(id: string, end: SessionEnd, details: Record<string, string> = {}): Promise<SessionRecord | undefined> {
    return this.c.mutate((events) => {
      const row = this.s.get.get(id);
      if (!row) return undefined;
      if (row.ended !== 0) return fromRow(row);
      this.writeEnd(events, row, end, details);
      return fromRow(this.s.get.get(id)!);
    });
  }

  async recordSessionRefusal(r: SessionRefusal): Promise<void> {
    this.c.mutate((events) => {
      this.c.appendEvent(events, r.operator, 'session.refused', r.deviceId, Date.now(), { kind: r.kind, detail: r.detail, code: r.code, message: r.message });
    });
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const row = this.s.get.get(id);
    return row && fromRow(row);
  }

  async listSessions(filter: SessionFilter, pageSize: number, beforeSeq?: number): Promise<{ sessions: SessionRecord[]; nextBeforeSeq?: number }> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (beforeSeq !== undefined) {
      where.push('seq < ?');
      params.push(beforeSeq);
    }
    if (filter.deviceId) {
      where.push('device_id = ?');
      params.push(filter.deviceId);
    }
    if (filter.kind) {
      where.push('kind = ?');
      params.push(filter.kind);
    }
    if (filter.openOnly) where.push('ended = 0');
    const sql = `SELECT * FROM remote_sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.statement<SessionRow>(sql).all(...params, pageSize + 1);
    const more = rows.length > pageSize;
    const page = rows.slice(0, pageSize);
    return { sessions: page.map(fromRow), nextBeforeSeq: more ? page.at(-1)!.seq : undefined };
  }

  async endOrphanSessions(reason: string): Promise<number> {
    return this.c.mutate((events) => {
      const rows = this.s.open.all();
      const now = Date.now();
      for (const row of rows) {
        this.writeEnd(events, row, {
          endedMs: now,
          endReason: reason,
          bytesToDevice: row.bytes_to_device,
          bytesFromDevice: row.bytes_from_device,
          recordingBytes: row.recording_bytes,
          recordingTruncated: row.recording_truncated === 1,
        }, {});
      }
      return rows.length;
    });
  }

  async keptRecordings(): Promise<KeptRecording[]> {
    return this.s.kept.all().map((r) => ({ id: r.id, deviceId: r.device_id, endedMs: r.ended, recordingBytes: r.recording_bytes }));
  }

  async markRecordingsPruned(pruned: Array<{ id: string; reason: string }>, atMs: number): Promise<number> {
    if (pruned.length === 0) return 0;
    return this.c.mutate((events) => {
      let n = 0;
      for (const p of pruned) {
        if (this.s.prune.run({ id: p.id, at: atMs, reason: p.reason }).changes === 0) continue;
        const row = this.s.get.get(p.id)!;
        this.c.appendEvent(events, 'hub', 'session.recording-pruned', row.device_id, atMs, { session: row.id, kind: row.kind, reason: p.reason, recordingBytes: String(row.recording_bytes) });
        n++;
      }
      return n;
    });
  }

  async auditEntries(q: AuditQuery): Promise<HubEvent[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.beforeRevision && q.beforeRevision > 0) {
      where.push('revision < ?');
      params.push(q.beforeRevision);
    }
    if (q.kindPrefix) {
      // A range instead of LIKE: no escaping of '_' and '%', and it uses the kind index.
      where.push('kind >= ? AND kind < ?');
      params.push(q.kindPrefix, `${q.kindPrefix}\uffff`);
    }
    if (q.subject) {
      where.push('entity_id = ?');
      params.push(q.subject);
    }
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY revision DESC LIMIT ?`;
    return this.statement<EventRowLike>(sql).all(...params, q.limit).map((row) => this.c.fromEventRow(row));
  }

  /** A handful of shapes (each filter on or off), prepared once each. */
  private statement<Row>(sql: string): Statement<(string | number)[], Row> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.c.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement as Statement<(string | number)[], Row>;
  }

  private writeEnd(events: HubEvent[], row: SessionRow, end: SessionEnd, details: Record<string, string>): void {
    this.s.end.run({
      id: row.id,
      ended: end.endedMs,
      end_reason: end.endReason,
      bytes_to_device: end.bytesToDevice,
      bytes_from_device: end.bytesFromDevice,
      recording_bytes: end.recordingBytes,
      recording_truncated: end.recordingTruncated ? 1 : 0,
    });
    this.c.appendEvent(events, row.operator, 'session.closed', row.device_id, end.endedMs, {
      ...details,
      session: row.id,
      kind: row.kind,
      reason: end.endReason,
      bytesToDevice: String(end.bytesToDevice),
      bytesFromDevice: String(end.bytesFromDevice),
      durationMs: String(end.endedMs - row.started),
    });
  }
}

function fromRow(r: SessionRow): SessionRecord {
  return {
    id: r.id,
    deviceId: r.device_id,
    operator: r.operator,
    kind: r.kind,
    detail: r.detail,
    startedMs: r.started,
    endedMs: r.ended,
    endReason: r.end_reason,
    bytesToDevice: r.bytes_to_device,
    bytesFromDevice: r.bytes_from_device,
    recorded: r.recorded === 1,
    recordingBytes: r.recording_bytes,
    recordingTruncated: r.recording_truncated === 1,
    recordingPrunedMs: r.recording_pruned,
    recordingPrunedReason: r.recording_pruned_reason,
  };
}
