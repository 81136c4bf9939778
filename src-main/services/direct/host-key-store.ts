import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { migrate } from '../cache/migration';
import { cacheMigrations } from '../cache/migrations';

/** A host key as the store remembers it. */
export interface KnownHostKey {
  host: string;
  port: number;
  /** key type from the key blob, e.g. ssh-ed25519 */
  algorithm: string;
  /** SHA256:<unpadded base64>, as `ssh-keygen -l` prints it */
  fingerprint: string;
  firstSeenMs: number;
  lastSeenMs: number;
}

/** The key a server presented, reduced to what is compared and shown. */
export interface PresentedHostKey {
  algorithm: string;
  fingerprint: string;
}

/** Outcome of checking a presented key against the store. */
export type HostKeyCheck =
  | { status: 'trusted'; known: KnownHostKey }
  | { status: 'first-use'; known: KnownHostKey }
  | { status: 'changed'; known: KnownHostKey; presented: PresentedHostKey };

interface HostKeyRow {
  host: string;
  port: number;
  algorithm: string;
  fingerprint: string;
  first_seen_ms: number;
  last_seen_ms: number;
}

/** SHA256 fingerprint of a raw SSH public key blob, in OpenSSH's spelling. */
export function hostKeyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type a raw SSH public key blob starts with (uint32 length + name). */
export function hostKeyAlgorithm(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return len > 0 && len < 64 && blob.length >= 4 + len ? blob.subarray(4, 4 + len).toString('latin1') : 'unknown';
}

/** Reduces a raw key blob to its algorithm and fingerprint. */
export function presentedHostKey(blob: Buffer): PresentedHostKey {
  return { algorithm: hostKeyAlgorithm(blob), fingerprint: hostKeyFingerprint(blob) };
}

// Trust on first use, as OpenSSH's known_hosts: the first key seen at a
// host:port is stored; later connections must present the same key. A
// changed key is never replaced here on the fly: only `trust()` with the
// fingerprint the operator was shown replaces it, so a second impostor key
// arriving between "show" and "trust" is still refused. Keys are stored per
// host:port (not per device), because that is what the server's key vouches
// for; a device that moves to a new address is a first use there.
export class HostKeyStore {
  private readonly ownsDb: boolean;

  /** Uses an open cache database (migrated here if needed). */
  constructor(
    private readonly db: Database.Database,
    options: { ownsDb?: boolean } = {},
  ) {
    this.ownsDb = options.ownsDb ?? false;
    migrate(db, cacheMigrations);
  }

  /** Opens the console's cache file with its own connection (WAL, so it coexists with the device cache). */
  static open(file: string): HostKeyStore {
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      return new HostKeyStore(db, { ownsDb: true });
    } catch (err) {
      db.close();
      throw new Error(`cannot open the host key store in the console cache ${file}: ${(err as Error).message}`);
    }
  }

  close(): void {
    if (this.ownsDb && this.db.open) this.db.close();
  }

  /** Compares a presented key blob with the stored one; stores it on first use and notes when it was last seen. */
  check(host: string, port: number, blob: Buffer, nowMs = Date.now()): HostKeyCheck {
    const presented = presentedHostKey(blob);
    const h = normaliseHost(host);
    return this.db.transaction((): HostKeyCheck => {
      const known = this.get(h, port);
      if (!known) {
        this.write(h, port, presented, nowMs, nowMs);
        return { status: 'first-use', known: this.get(h, port)! };
      }
      if (known.fingerprint !== presented.fingerprint) return { status: 'changed', known, presented };
      this.db.prepare('UPDATE host_keys SET last_seen_ms = ? WHERE host = ? AND port = ?').run(nowMs, h, port);
      return { status: 'trusted', known: { ...known, lastSeenMs: nowMs } };
    })();
  }

  /** The explicit re-trust after "host key changed": stores exactly the fingerprint the operator accepted. */
  trust(host: string, port: number, key: PresentedHostKey, nowMs = Date.now()): KnownHostKey {
    if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(key.fingerprint)) throw new Error(`"${key.fingerprint}" is not a SHA256 host key fingerprint (SHA256: followed by 43 base64 characters)`);
    const h = normaliseHost(host);
    this.write(h, port, key, nowMs, nowMs);
    return this.get(h, port)!;
  }

  get(host: string, port: number): KnownHostKey | undefined {
    const row = this.db.prepare('SELECT * FROM host_keys WHERE host = ? AND port = ?').get(normaliseHost(host), port) as HostKeyRow | undefined;
    return row && fromRow(row);
  }

  list(): KnownHostKey[] {
    return (this.db.prepare('SELECT * FROM host_keys ORDER BY host, port').all() as HostKeyRow[]).map(fromRow);
  }

  /** Forgets a host's key: the next connection is a first use again. Returns whether one was stored. */
  forget(host: string, port: number): boolean {
    return this.db.prepare('DELETE FROM host_keys WHERE host = ? AND port = ?').run(normaliseHost(host), port).changes > 0;
  }

  private write(host: string, port: number, key: PresentedHostKey, firstSeenMs: number, lastSeenMs: number): void {
    this.db
      .prepare(
        `INSERT INTO host_keys (host, port, algorithm, fingerprint, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (host, port) DO UPDATE SET algorithm = excluded.algorithm, fingerprint = excluded.fingerprint,
           first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms`,
      )
      .run(host, port, key.algorithm, key.fingerprint, firstSeenMs, lastSeenMs);
  }
}

function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

function fromRow(r: HostKeyRow): KnownHostKey {
  return { host: r.host, port: r.port, algorithm: r.algorithm, fingerprint: r.fingerprint, firstSeenMs: r.first_seen_ms, lastSeenMs: r.last_seen_ms };
}
