import * as grpc from '@grpc/grpc-js';
import type { ConnectionPhase, Role } from '../../common/console-api';
import type { ConsoleServiceClient, WatchEvent } from '../../../proto/gen/fleet/v1/console';
import type { DeviceCache } from '../cache/device-cache';
import { bearer, createConsoleClient, HubCallError, unary, type HubTarget } from '../hub-client/hub-connection';
import { backoffDelay, HUB_BACKOFF, type BackoffOptions } from './backoff';
import { deviceRecord, roleFromProto } from './device-record';

/** The part of the connection state the sync loop owns. */
export interface SyncStatus {
  phase: ConnectionPhase;
  error: string;
  operator: string;
  role: Role | '';
  hubId: string;
  revision: number;
  syncedAtMs: number;
}

export interface HubSyncOptions {
  cache: DeviceCache;
  /** hub, token and the pinned certificate */
  target: HubTarget & { caPem: string };
  log: (line: string) => void;
  onStatus: (status: SyncStatus) => void;
  /** debounced: ids of changed rows, empty when anything may have changed */
  onDevicesChanged: (revision: number, ids: string[]) => void;
  debounceMs?: number;
  backoff?: BackoffOptions;
}

/** Above this many changed ids an event says "anything changed" instead. */
const MAX_IDS_PER_EVENT = 500;
const WHOAMI_TIMEOUT_MS = 10_000;
/**
 * grpc-js hands over a message or two per I/O callback, and every commit
 * costs about a millisecond, so events are gathered for one short tick (or
 * up to MAX_BATCH) and applied in a single transaction.
 */
const FLUSH_TICK_MS = 16;
const MAX_BATCH = 5000;

// Keeps the local cache fed by the hub's Watch change feed, forever: each
// attempt dials a fresh channel (so a hub that comes back is seen at once,
// not after grpc-js's own reconnect backoff), asks WhoAmI, then streams
// Watch from the cache's cursor. Events that arrive together are applied in
// one transaction that also moves the cursor, so data and cursor never
// disagree after a crash. Failures retry with backoff, except a refused
// token, which no retry can fix.
export class HubSync {
  private readonly opts: HubSyncOptions;
  private current: SyncStatus;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private client: ConsoleServiceClient | null = null;
  private stream: grpc.ClientReadableStream<WatchEvent> | null = null;
  private wake: (() => void) | null = null;
  /** settles when stop() is called, so a pending WhoAmI never delays closing */
  private readonly stopSignal: Promise<void>;
  private signalStop: () => void = () => {};
  private streamFailed: ((err: Error) => void) | null = null;
  private queue: WatchEvent[] = [];
  private flushScheduled: NodeJS.Timeout | null = null;
  /** highest revision seen in a resync snapshot (the cursor moves only when it completes) */
  private snapshotMax = 0;
  private changedIds = new Set<string>();
  private changedAll = false;
  private emitTimer: NodeJS.Timeout | null = null;

  constructor(opts: HubSyncOptions) {
    this.opts = opts;
    const meta = opts.cache.meta();
    this.stopSignal = new Promise((resolve) => (this.signalStop = resolve));
    this.current = { phase: 'connecting', error: '', operator: '', role: '', hubId: meta.hubId, revision: meta.revision, syncedAtMs: meta.syncedAtMs };
  }

  status(): SyncStatus {
    return { ...this.current, syncedAtMs: this.current.phase === 'online' ? Date.now() : this.current.syncedAtMs };
  }

  /** The client of the live stream, for calls that need the hub; null while it is not live. */
  liveClient(): ConsoleServiceClient | null {
    return this.current.phase === 'online' ? this.client : null;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    this.stream?.cancel();
    this.wake?.();
    await this.loop;
    if (this.flushScheduled) clearTimeout(this.flushScheduled);
    if (this.emitTimer) clearTimeout(this.emitTimer);
    this.emitChanges();
  }

  private async run(): Promise<void> {
    const { hub } = this.opts.target;
    let attempt = 0;
    while (!this.stopped) {
      const client = createConsoleClient(this.opts.target);
      this.client = client;
      try {
        if (this.current.phase !== 'offline') this.update({ phase: 'connecting' });
        const who = await Promise.race([unary(client, client.whoAmI, {}, this.opts.target.token, WHOAMI_TIMEOUT_MS), this.stopSignal]);
        if (!who || this.stopped) break;
        this.update({ phase: 'connecting', error: '', operator: who.operator, role: roleFromProto(who.role), hubId: who.hubId });
        await this.watch(client, who.hubId, () => (attempt = 0));
        throw new Error('the hub closed the change feed');
      } catch (err) {
        if (this.stopped) break;
        const message = (err as Error).message;
        const code = err instanceof HubCallError ? err.code : undefined;
        const wasOnline = this.current.phase === 'online';
        if (wasOnline) this.opts.cache.setMeta({ syncedAtMs: Date.now() });
        const syncedAtMs = wasOnline ? Date.now() : this.current.syncedAtMs;
        if (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED) {
          this.update({ phase: 'offline', error: `${message}; connect again with a valid operator token`, syncedAtMs });
          this.opts.log(`hub ${hub}: ${message}; not retrying until the operator connects again`);
          return;
        }
        const unreachable = code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED;
        const delay = backoffDelay(attempt++, this.opts.backoff ?? HUB_BACKOFF);
        this.update({ phase: unreachable ? 'offline' : 'connecting', error: message, syncedAtMs });
        this.opts.log(`hub ${hub}: ${message}; retrying in ${delay} ms`);
        await this.sleep(delay);
      } finally {
        this.stream = null;
        this.client = null;
        client.close();
      }
    }
  }

  /** One Watch stream, until it fails or ends. */
  private watch(client: ConsoleServiceClient, hubId: string, onLive: () => void): Promise<void> {
    const { cache } = this.opts;
    const meta = cache.meta();
    if (meta.hubId !== hubId && !meta.resyncPending) {
      // Another hub than the cached rows came from: the hub will RESYNC, but
      // the cache does not rely on it to drop the old fleet.
      cache.transaction(() => {
        cache.markAllStale();
        cache.setMeta({ hubId, revision: 0, resyncPending: true });
      });
    }
    const since = cache.meta().resyncPending ? 0 : meta.revision;
    this.snapshotMax = 0;
    this.opts.log(`hub ${this.opts.target.hub}: watching changes since revision ${since}`);
    return new Promise<void>((resolve, reject) => {
      const stream = client.watch({ sinceRevision: since, hubId: meta.hubId }, bearer(this.opts.target.token));
      this.stream = stream;
      let settled = false;
      const settle = (err: Error | null) => {
        if (settled) return;
        settled = true;
        this.streamFailed = null;
        if (err) reject(err);
        else resolve();
      };
      this.streamFailed = (err) => {
        stream.cancel();
        settle(err);
      };
      stream.on('data', (event: WatchEvent) => {
        this.queue.push(event);
        if (this.queue.length >= MAX_BATCH) this.flush(hubId, onLive);
        else this.flushScheduled ??= setTimeout(() => this.flush(hubId, onLive), FLUSH_TICK_MS);
      });
      stream.on('error', (err: grpc.ServiceError) => {
        this.flush(hubId, onLive);
        settle(new HubCallError(err));
      });
      stream.on('end', () => {
        this.flush(hubId, onLive);
        settle(null);
      });
    });
  }

  /** Applies every queued event in one transaction with the cursor. */
  private flush(hubId: string, onLive: () => void): void {
    if (this.flushScheduled) clearTimeout(this.flushScheduled);
    this.flushScheduled = null;
    const events = this.queue;
    this.queue = [];
    if (events.length === 0 || this.stopped) return;
    const { cache } = this.opts;
    let live = false;
    try {
      cache.transaction(() => {
        const meta = cache.meta();
        for (const ev of events) {
          const e = ev.event;
          if (!e) continue;
          if (e.$case === 'device') {
            if (cache.upsert(deviceRecord(e.device, meta.hubId || hubId))) this.changed(e.device.id);
            const revision = Math.max(ev.revision, e.device.revision);
            if (meta.resyncPending) this.snapshotMax = Math.max(this.snapshotMax, revision);
            else meta.revision = Math.max(meta.revision, revision);
          } else if (e.$case === 'resync') {
            cache.markAllStale();
            meta.resyncPending = true;
            meta.hubId = e.resync.hubId || hubId;
            meta.revision = 0;
            this.snapshotMax = 0;
            this.opts.log(`hub ${this.opts.target.hub}: resync of hub ${meta.hubId}`);
          } else if (e.$case === 'synced') {
            if (meta.resyncPending) {
              const gone = cache.deleteStale();
              if (gone > 0) this.changedAll = true;
              meta.resyncPending = false;
              meta.revision = Math.max(this.snapshotMax, ev.revision);
            } else {
              meta.revision = Math.max(meta.revision, ev.revision);
            }
            meta.hubId = e.synced.hubId || meta.hubId;
            live = true;
          }
        }
        if (live || this.current.phase === 'online') meta.syncedAtMs = Date.now();
        cache.setMeta(meta);
        this.current = { ...this.current, hubId: meta.hubId || this.current.hubId, revision: meta.revision, syncedAtMs: meta.syncedAtMs };
      });
    } catch (err) {
      this.opts.log(`hub ${this.opts.target.hub}: cannot write the local cache: ${(err as Error).message}`);
      this.streamFailed?.(new Error(`cannot write the local cache: ${(err as Error).message}`));
      return;
    }
    if (live && this.current.phase !== 'online') {
      onLive();
      this.update({ phase: 'online', error: '' });
      this.opts.log(`hub ${this.opts.target.hub}: in sync at revision ${this.current.revision}`);
    }
    this.scheduleEmit();
  }

  private changed(id: string): void {
    if (this.changedAll) return;
    this.changedIds.add(id);
    if (this.changedIds.size > MAX_IDS_PER_EVENT) {
      this.changedAll = true;
      this.changedIds.clear();
    }
  }

  private scheduleEmit(): void {
    this.emitTimer ??= setTimeout(() => {
      this.emitTimer = null;
      this.emitChanges();
    }, this.opts.debounceMs ?? 100);
  }

  private emitChanges(): void {
    if (!this.changedAll && this.changedIds.size === 0) return;
    const ids = this.changedAll ? [] : [...this.changedIds];
    this.changedAll = false;
    this.changedIds.clear();
    this.opts.onDevicesChanged(this.current.revision, ids);
  }

  private update(patch: Partial<SyncStatus>): void {
    const next = { ...this.current, ...patch };
    const changed = (Object.keys(next) as (keyof SyncStatus)[]).some((k) => next[k] !== this.current[k]);
    this.current = next;
    if (changed && !this.stopped) this.opts.onStatus(this.status());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
