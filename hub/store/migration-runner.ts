import type { Database } from 'better-sqlite3';
import type { Migration } from './migrations/migration';

// Applies the numbered migrations the database has not seen yet, each in its
// own transaction together with the bump of the recorded version, so a crash
// mid-way leaves the database at a clean version.
export function runMigrations(db: Database, migrations: Migration[]): { from: number; to: number } {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    applied INTEGER NOT NULL
  )`);
  const from = (db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
  const known = migrations.at(-1)?.version ?? 0;
  if (from > known) {
    throw new Error(`database schema version ${from} is newer than this hub knows (${known}): run a newer fleet-hub`);
  }
  let to = from;
  // Rebuilding a table (the only way to change a CHECK constraint) drops a
  // table others refer to: foreign keys are off while migrating (they cannot
  // be switched inside a transaction) and checked before each commit.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= from) continue;
      db.transaction(() => {
        m.up(db);
        const broken = db.pragma('foreign_key_check') as { table: string; parent: string }[];
        if (broken.length) throw new Error(`migration ${m.version} (${m.name}) left ${broken.length} rows of ${broken[0].table} without their ${broken[0].parent}`);
        db.prepare('INSERT INTO schema_version (version, name, applied) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      })();
      to = m.version;
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
  }
  return { from, to };
}
