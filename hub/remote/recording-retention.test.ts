import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store';
import { makeTempDir } from '../testing/test-hub';
import { RecordingRetention, type RetentionPolicy } from './recording-retention';

// Retention on a real SQLite store and real files: which recordings go,
// which never do (open sessions, the just ended), and what stays behind.

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 27, 12);

let dir: string;
let recordings: string;
let store: SqliteStore;

beforeEach(() => {
  dir = makeTempDir('fleet-retention-');
  recordings = join(dir, 'recordings');
  mkdirSync(recordings);
  store = openSqliteStore(join(dir, 'hub.db'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A recorded session with a file of `bytes`; `endedAgoMs` undefined = still open. */
async function recording(bytes: number, endedAgoMs?: number, startedAgoMs = (endedAgoMs ?? 0) + 60_000): Promise<string> {
  const id = `s${++n}`;
  await store.openSession({ id, deviceId: 'dev-1', operator: 'otto', kind: 'shell', detail: '', startedMs: NOW - startedAgoMs, recorded: true });
  writeFileSync(join(recordings, `${id}.cast`), Buffer.alloc(bytes, 0x61));
  if (endedAgoMs !== undefined) {
    await store.endSession(id, { endedMs: NOW - endedAgoMs, endReason: 'exit 0', bytesToDevice: 1, bytesFromDevice: bytes, recordingBytes: bytes, recordingTruncated: false });
  }
  return id;
}

const retention = (policy: Partial<RetentionPolicy>) => new RecordingRetention(store, recordings, { maxAgeMs: 0, maxTotalBytes: 0, ...policy }, () => {}, () => NOW);
const kept = (id: string) => existsSync(join(recordings, `${id}.cast`));

describe('recording retention', () => {
  it('prunes recordings older than the age limit, keeps the row and says why; an open session is never touched', async () => {
    const old = await recording(1000, 100 * DAY);
    const recent = await recording(1000, 10 * DAY);
    const open = await recording(1000, undefined, 200 * DAY);

    const result = await retention({ maxAgeMs: 90 * DAY }).sweep();

    expect(result).toEqual({ pruned: 1, freedBytes: 1000, keptBytes: 2000 });
    expect([kept(old), kept(recent), kept(open)]).toEqual([false, true, true]);
    const row = await store.getSession(old);
    expect(row).toMatchObject({ recorded: true, recordingBytes: 1000, recordingPrunedMs: NOW, recordingPrunedReason: 'recording pruned by retention (older than 90 days)' });
    expect((await store.getSession(recent))?.recordingPrunedMs).toBe(0);
    const [event] = await store.auditEntries({ limit: 10, kindPrefix: 'session.recording-pruned' });
    expect(event).toMatchObject({ actor: 'hub', entityId: 'dev-1', details: { session: old, reason: 'recording pruned by retention (older than 90 days)', recordingBytes: '1000' } });

    // Nothing more to do: a second sweep prunes nothing and logs no event.
    expect((await retention({ maxAgeMs: 90 * DAY }).sweep()).pruned).toBe(0);
    expect(await store.auditEntries({ limit: 10, kindPrefix: 'session.recording-pruned' })).toHaveLength(1);
  });

  it('prunes the oldest until the total fits, but never the just ended or an open one', async () => {
    const a = await recording(4000, 5 * DAY);
    const b = await recording(3000, 4 * DAY);
    const c = await recording(2000, 3 * DAY);
    const justEnded = await recording(5000, 10_000);
    const open = await recording(6000);

    // 20,000 bytes against a 10,000 limit: a, b and c go (9,000); the two newest cannot.
    const result = await retention({ maxTotalBytes: 10_000, maxAgeMs: 90 * DAY }).sweep();

    expect(result).toEqual({ pruned: 3, freedBytes: 9000, keptBytes: 11_000 });
    expect([a, b, c, justEnded, open].map(kept)).toEqual([false, false, false, true, true]);
    expect((await store.getSession(a))?.recordingPrunedReason).toBe('recording pruned by retention (recordings over 9.8 KiB in total)');
  });

  it('stops as soon as the total fits', async () => {
    const a = await recording(4000, 5 * DAY);
    const b = await recording(3000, 4 * DAY);
    const c = await recording(2000, 3 * DAY);
    expect((await retention({ maxTotalBytes: 6000 }).sweep()).pruned).toBe(1);
    expect([a, b, c].map(kept)).toEqual([false, true, true]);
  });

  it('prunes at start and again on its interval until stopped', async () => {
    const first = await recording(10, 100 * DAY);
    const r = retention({ maxAgeMs: 90 * DAY });
    expect((await r.start(40)).pruned).toBe(1);
    expect(kept(first)).toBe(false);
    const later = await recording(10, 100 * DAY);
    for (const t0 = Date.now(); kept(later) && Date.now() - t0 < 3000; ) await new Promise((res) => setTimeout(res, 20));
    await r.stop();
    expect(kept(later)).toBe(false);
    const afterStop = await recording(10, 100 * DAY);
    await new Promise((res) => setTimeout(res, 150));
    expect(kept(afterStop)).toBe(true);
  });

  it('marks an old recording whose file is already gone, and keeps everything with both limits off', async () => {
    const gone = await recording(100, 100 * DAY);
    const other = await recording(100, 100 * DAY);
    rmSync(join(recordings, `${gone}.cast`));
    expect((await retention({}).sweep()).pruned).toBe(0);
    expect(kept(other)).toBe(true);
    expect((await retention({ maxAgeMs: DAY }).sweep()).pruned).toBe(2);
    expect((await store.getSession(gone))?.recordingPrunedMs).toBe(NOW);
  });
});
