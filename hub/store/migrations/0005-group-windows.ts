import type { Migration } from './migration';

export const migration0005: Migration = {
  version: 5,
  name: 'maintenance windows on static and dynamic groups',
  up(db) {
    db.exec(`
      CREATE TABLE group_windows (
        grp     TEXT NOT NULL,
        dynamic INTEGER NOT NULL, -- 1: a dynamic group, 0: a static group
        window  TEXT NOT NULL,    -- WindowConfig as JSON
        set_by  TEXT NOT NULL,
        set_ms  INTEGER NOT NULL,
        PRIMARY KEY (grp, dynamic)
      ) WITHOUT ROWID;
    `);
  },
};
