import type { Migration } from './migration';

export const migration0002: Migration = {
  version: 2,
  name: 'artifacts: uploaded, verified artifacts (files live in DATA/artifacts/sha256/)',
  up(db) {
    db.exec(`
      CREATE TABLE artifacts (
        id               TEXT PRIMARY KEY, -- sha256 hex of the whole file
        name             TEXT NOT NULL,
        version          TEXT NOT NULL,
        grp              TEXT NOT NULL,
        device_types     TEXT NOT NULL,    -- JSON array
        provides         TEXT NOT NULL,    -- JSON object
        size             INTEGER NOT NULL,
        signature_status TEXT NOT NULL CHECK (signature_status IN ('trusted', 'untrusted-key', 'unsigned')),
        key_id           TEXT NOT NULL,
        uploaded         INTEGER NOT NULL,
        uploaded_by      TEXT NOT NULL,
        payload_summary  TEXT NOT NULL
      );
      CREATE INDEX artifacts_uploaded ON artifacts (uploaded DESC, id);
    `);
  },
};
