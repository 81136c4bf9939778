import type { Migration } from './migration';

export const migration0001: Migration = {
  version: 1,
  name: 'initial: meta, operators, devices, events',
  up(db) {
    db.exec(`
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE operators (
        name         TEXT PRIMARY KEY,
        role         TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        token_sha256 TEXT NOT NULL UNIQUE,
        created      INTEGER NOT NULL
      );
      CREATE TABLE devices (
        id         TEXT PRIMARY KEY,
        status     TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
        identity   TEXT NOT NULL,
        public_key BLOB NOT NULL UNIQUE,
        inventory  TEXT NOT NULL DEFAULT '{}',
        online     INTEGER NOT NULL DEFAULT 0,
        last_seen  INTEGER NOT NULL DEFAULT 0,
        created    INTEGER NOT NULL,
        updated    INTEGER NOT NULL,
        revision   INTEGER NOT NULL
      );
      CREATE INDEX devices_revision ON devices (revision);
      CREATE INDEX devices_status ON devices (status, id);
      CREATE INDEX devices_online ON devices (online) WHERE online = 1;
      -- AUTOINCREMENT is not used: the store assigns revisions itself so a
      -- snapshot can carry its own revision; the primary key keeps them unique.
      CREATE TABLE events (
        revision  INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        actor     TEXT NOT NULL,
        kind      TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        payload   TEXT NOT NULL
      );
      CREATE INDEX events_entity ON events (entity_id, revision);
    `);
  },
};
