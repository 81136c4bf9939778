import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, type Migration } from './migration';
import { cacheMigrations } from './migrations';
import { DeviceCache } from './device-cache';

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cache-migrate-'));
  dirs.push(dir);
  return join(dir, 'cache.db');
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('cache migrations', () => {
  it('creates the schema once and records the version', () => {
    const file = tempFile();
    new DeviceCache(file).close();
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(cacheMigrations.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['device_details', 'devices', 'host_keys', 'meta']);
    db.close();
    // Reopening runs nothing again (a second CREATE TABLE would throw).
    new DeviceCache(file).close();
  });

  it('applies only the steps newer than the stored version', () => {
    const db = new Database(':memory:');
    const steps: Migration[] = [
      { version: 1, name: 'a', up: 'CREATE TABLE a (x)' },
      { version: 2, name: 'b', up: 'CREATE TABLE b (x)' },
    ];
    expect(migrate(db, steps.slice(0, 1))).toBe(1);
    expect(migrate(db, steps)).toBe(2);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBe(2);
  });

  it('rolls back a failing step whole and keeps the old version', () => {
    const db = new Database(':memory:');
    const bad: Migration[] = [{ version: 1, name: 'bad', up: 'CREATE TABLE ok (x); CREATE TABLE ok (x);' }];
    expect(() => migrate(db, bad)).toThrow(/already exists/);
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'ok'").pluck().get()).toBe(0);
  });

  it('refuses a cache written by a newer console', () => {
    const db = new Database(':memory:');
    db.pragma('user_version = 99');
    expect(() => migrate(db, cacheMigrations)).toThrow(/schema version 99, newer than this console knows/);
  });

  it('explains a damaged cache file', () => {
    const file = tempFile();
    writeFileSync(file, 'this is not a database, just text that is long enough to be read as a header');
    expect(() => new DeviceCache(file)).toThrow(/cannot open the console cache .*can be deleted and is rebuilt/);
  });

  it('refuses gaps in the numbering', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [{ version: 2, name: 'x', up: '' }])).toThrow(/without gaps/);
  });
});
