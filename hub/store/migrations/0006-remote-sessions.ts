import type { Migration } from './migration';

export const migration0006: Migration = {
  version: 6,
  name: 'remote sessions (shell, command, file, port-forward) and their recordings',
  up(db) {
    db.exec(`
      CREATE TABLE remote_sessions (
        seq                 INTEGER PRIMARY KEY AUTOINCREMENT, -- opening order (ListSessions pages by it)
        id                  TEXT NOT NULL UNIQUE,
        device_id           TEXT NOT NULL,
        operator            TEXT NOT NULL,
        kind                TEXT NOT NULL CHECK (kind IN ('shell', 'command', 'file', 'port-forward')),
        detail              TEXT NOT NULL,
        started             INTEGER NOT NULL,
        ended               INTEGER NOT NULL DEFAULT 0, -- 0 while open
        end_reason          TEXT NOT NULL DEFAULT '',
        bytes_to_device     INTEGER NOT NULL DEFAULT 0,
        bytes_from_device   INTEGER NOT NULL DEFAULT 0,
        recorded            INTEGER NOT NULL DEFAULT 0,
        recording_bytes     INTEGER NOT NULL DEFAULT 0,
        recording_truncated INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX remote_sessions_device ON remote_sessions (device_id, seq);
      CREATE INDEX remote_sessions_open ON remote_sessions (seq) WHERE ended = 0;
      -- ListAudit filters the event log by kind prefix; the subject filter uses events_entity.
      CREATE INDEX events_kind ON events (kind, revision);
    `);
  },
};
