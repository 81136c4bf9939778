import type { Migration } from './migration';

// Recording retention (docs/remote-sessions.md): a pruned recording's file is
// gone but its session row stays, saying when and why the recording went.
// The partial index is what a retention sweep reads: recordings still kept,
// oldest end first.
export const migration0008: Migration = {
  version: 8,
  name: 'remote session recordings pruned by retention',
  up(db) {
    db.exec(`
      ALTER TABLE remote_sessions ADD COLUMN recording_pruned INTEGER NOT NULL DEFAULT 0; -- unix ms, 0 = kept
      ALTER TABLE remote_sessions ADD COLUMN recording_pruned_reason TEXT NOT NULL DEFAULT '';
      CREATE INDEX remote_sessions_kept_recordings ON remote_sessions (ended) WHERE recorded = 1 AND recording_pruned = 0;
    `);
  },
};
