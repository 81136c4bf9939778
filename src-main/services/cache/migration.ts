import type Database from 'better-sqlite3';

/** One numbered schema step. `up` is SQL run in a transaction. */
export interface Migration {
  version: number;
  name: string;
  up: string;
}

// Applies the migrations newer than the database's PRAGMA user_version, each
// in its own transaction together with the version bump, so a crash leaves
// the schema at a whole step. A database newer than this program is refused
// rather than guessed at.
export function migrate(db: Database.Database, migrations: readonly Migration[]): number {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`cache migrations must be numbered 1..N without gaps; found ${m.version} at position ${i + 1}`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = sorted.length;
  if (current > latest) {
    throw new Error(`the console cache has schema version ${current}, newer than this console knows (${latest}); update the console or delete the cache file`);
  }
  for (const m of sorted.slice(current)) {
    db.transaction(() => {
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return latest;
}
