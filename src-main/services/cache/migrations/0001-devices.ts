import type { Migration } from '../migration';

// The device list the console shows, one row per device of the hub the cache
// mirrors. List columns are real columns (indexed for sort and filter).
// `search` is the lower-case text the filter box matches (id, type, OS and
// every identity/inventory value), computed once on write so a query never
// parses JSON. The detail (identity, inventory, key) is JSON in its own table:
// it is read one device at a time, and keeping it out of `devices` keeps that
// table narrow, which is what makes a text filter over 100,000 rows fast (a
// LIKE scan reads the whole table).
export const migration0001Devices: Migration = {
  version: 1,
  name: 'devices',
  up: `
    CREATE TABLE devices (
      id             TEXT PRIMARY KEY,
      hub_id         TEXT NOT NULL,
      status         TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
      online         INTEGER NOT NULL,
      device_type    TEXT NOT NULL,
      os             TEXT NOT NULL,
      last_seen_ms   INTEGER NOT NULL,
      created_ms     INTEGER NOT NULL,
      revision       INTEGER NOT NULL,
      search         TEXT NOT NULL,
      -- set for every row when the hub starts a resync; rows still set when
      -- the snapshot ends are gone from the hub and get deleted
      stale          INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE device_details (
      id             TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
      identity_json  TEXT NOT NULL,
      inventory_json TEXT NOT NULL,
      public_key     TEXT NOT NULL
    );

    CREATE INDEX devices_status_id ON devices (status, id);
    CREATE INDEX devices_status_last_seen ON devices (status, last_seen_ms, id);
    CREATE INDEX devices_last_seen ON devices (last_seen_ms, id);
    CREATE INDEX devices_online ON devices (online, id);
    CREATE INDEX devices_device_type ON devices (device_type, id);
    CREATE INDEX devices_os ON devices (os, id);
    CREATE INDEX devices_stale ON devices (stale) WHERE stale = 1;

    -- sync state: hub_id, revision (the Watch cursor), synced_at_ms, resync_pending
    CREATE TABLE meta (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) WITHOUT ROWID;
  `,
};
