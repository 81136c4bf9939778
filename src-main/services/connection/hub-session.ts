import * as grpc from '@grpc/grpc-js';
import type { ConnectionState, ConnectParams, HubProbe } from '../../common/console-api';
import type { ConsoleServiceClient } from '../../../proto/gen/fleet/v1/console';
import { normalizeFingerprint } from '../../../proto/tls-fingerprint';
import type { DeviceCache } from '../cache/device-cache';
import type { ContextStore, SavedContext } from '../context/context-store';
import { createConsoleClient, HubCallError, probeHub, splitHostPort, unary } from '../hub-client/hub-connection';
import { HubSync, type SyncStatus } from '../sync/hub-sync';
import { roleFromProto } from '../sync/device-record';

export interface HubSessionOptions {
  cache: DeviceCache;
  store: ContextStore;
  log: (line: string) => void;
  onState: (state: ConnectionState) => void;
  onDevicesChanged: (revision: number, ids: string[]) => void;
}

/** A hub the console trusts and syncs with. */
interface ActiveHub {
  context: SavedContext;
  embedded: boolean;
  sync: HubSync;
}

const PROBE_TIMEOUT_MS = 5000;

// The console's one hub connection: trust (probe, pinned fingerprint), login
// (WhoAmI), the saved context and the sync loop that feeds the cache.
export class HubSession {
  private active: ActiveHub | null = null;
  /** serialises connect/disconnect so two clicks never race */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: HubSessionOptions) {}

  state(): ConnectionState {
    const meta = this.opts.cache.meta();
    if (!this.active) {
      return { phase: 'disconnected', hub: '', fingerprint: '', operator: '', role: '', hubId: meta.hubId, revision: meta.revision, error: '', syncedAtMs: meta.syncedAtMs, embedded: false };
    }
    const { context, embedded, sync } = this.active;
    return this.compose(context, embedded, sync.status());
  }

  /** Resumes the saved context, if any (at start, before the hub answers). */
  resume(): void {
    let saved: SavedContext | null;
    try {
      saved = this.opts.store.current();
    } catch (err) {
      // A damaged file must not keep the console from starting: it starts
      // disconnected and the operator connects again.
      this.opts.log((err as Error).message);
      return;
    }
    if (!saved) return;
    this.opts.log(`resuming hub ${saved.hub} (fingerprint ${saved.fingerprint})`);
    this.startSync(saved, false);
  }

  async probe(hub: string): Promise<HubProbe> {
    checkHub(hub);
    const seen = await probeHub(hub, PROBE_TIMEOUT_MS);
    // The embedded hub is trusted by construction (this console made it) but
    // never saved, so it is not in the store's list.
    const embedded = this.active?.embedded && this.active.context.hub === hub ? this.active.context : null;
    const trusted = embedded ?? this.opts.store.trusted(hub);
    return { hub, fingerprint: seen.fingerprint, subject: seen.subject, trusted: trusted?.fingerprint === seen.fingerprint };
  }

  connect(params: ConnectParams): Promise<ConnectionState> {
    return this.serial(async () => {
      const { hub, token, fingerprint } = checkParams(params);
      const seen = await probeHub(hub, PROBE_TIMEOUT_MS);
      if (seen.fingerprint !== fingerprint) {
        throw new Error(`the hub's certificate changed: expected ${fingerprint}, got ${seen.fingerprint}; probe the hub again and check the new fingerprint with its operator before trusting it`);
      }
      const context = await this.login({ hub, token, fingerprint, certPem: seen.pem });
      this.opts.store.save(context);
      await this.stopActive();
      this.startSync(context, false);
      this.opts.log(`connected to hub ${hub} as ${context.operator} (${context.role}), hub id ${context.hubId}`);
      return this.state();
    });
  }

  /** Connects to a hub this console started itself: trusted by construction, never saved. */
  connectEmbedded(target: { hub: string; token: string; fingerprint: string; certPem: string }): Promise<ConnectionState> {
    return this.serial(async () => {
      const context = await this.login(target);
      await this.stopActive();
      this.startSync(context, true);
      return this.state();
    });
  }

  disconnect(): Promise<ConnectionState> {
    return this.serial(async () => {
      const hub = this.active?.context.hub;
      await this.stopActive();
      this.opts.store.forgetCurrent();
      if (hub) this.opts.log(`disconnected from hub ${hub}; saved token forgotten`);
      const state = this.state();
      this.opts.onState(state);
      return state;
    });
  }

  /** Runs a unary call on the live hub connection, or explains why it cannot. */
  async call<T>(what: string, fn: (client: ConsoleServiceClient, token: string) => Promise<T>): Promise<T> {
    const active = this.active;
    if (!active) throw new Error(`not connected to a hub — ${what} needs the hub`);
    const client = active.sync.liveClient();
    if (!client) {
      const error = active.sync.status().error;
      throw new Error(`hub unreachable — ${what} needs the hub${error ? ` (${error})` : ''}`);
    }
    try {
      return await fn(client, active.context.token);
    } catch (err) {
      if (err instanceof HubCallError && (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED)) {
        throw new Error(`hub unreachable — ${what} needs the hub (${err.message})`);
      }
      throw err;
    }
  }

  /**
   * Where and as whom to open a connection of our own to the live hub (the
   * remote sessions' bare stream), or why not — as call() explains it.
   */
  streamTarget(what: string): { hub: string; caPem: string; fingerprint: string; token: string } {
    const active = this.active;
    if (!active) throw new Error(`not connected to a hub — ${what} needs the hub`);
    if (!active.sync.liveClient()) {
      const error = active.sync.status().error;
      throw new Error(`hub unreachable — ${what} needs the hub${error ? ` (${error})` : ''}`);
    }
    const c = active.context;
    return { hub: c.hub, caPem: c.certPem, fingerprint: normalizeFingerprint(c.fingerprint), token: c.token };
  }

  async close(): Promise<void> {
    await this.serial(() => this.stopActive());
  }

  private async login(target: { hub: string; token: string; fingerprint: string; certPem: string }): Promise<SavedContext> {
    const client = createConsoleClient({ hub: target.hub, token: target.token, caPem: target.certPem, fingerprint: target.fingerprint });
    try {
      const who = await unary(client, client.whoAmI, {}, target.token, 10_000);
      return { ...target, hubId: who.hubId, operator: who.operator, role: roleFromProto(who.role) };
    } catch (err) {
      if (err instanceof HubCallError && err.code === grpc.status.UNAUTHENTICATED) {
        throw new Error(`the hub refused the token (${err.message}); paste the operator token again (a hub writes its admin token to DATA/admin.token)`);
      }
      throw err;
    } finally {
      client.close();
    }
  }

  private startSync(context: SavedContext, embedded: boolean): void {
    const sync = new HubSync({
      cache: this.opts.cache,
      target: { hub: context.hub, token: context.token, caPem: context.certPem, fingerprint: context.fingerprint },
      log: this.opts.log,
      onStatus: (status) => {
        if (this.active?.sync === sync) this.opts.onState(this.compose(context, embedded, status));
      },
      onDevicesChanged: (revision, ids) => {
        if (this.active?.sync !== sync) return;
        this.opts.onDevicesChanged(revision, ids);
        this.opts.onState(this.state());
      },
    });
    // Operator and role from the saved context until the hub answers.
    this.active = { context, embedded, sync };
    sync.start();
    this.opts.onState(this.state());
  }

  private async stopActive(): Promise<void> {
    const active = this.active;
    this.active = null;
    await active?.sync.stop();
  }

  private compose(context: SavedContext, embedded: boolean, s: SyncStatus): ConnectionState {
    return {
      phase: s.phase,
      hub: context.hub,
      fingerprint: context.fingerprint,
      operator: s.operator || context.operator,
      role: s.role || context.role,
      hubId: s.hubId || context.hubId,
      revision: s.revision,
      error: s.error,
      syncedAtMs: s.syncedAtMs,
      embedded,
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

function checkHub(hub: unknown): string {
  if (typeof hub !== 'string' || !hub.trim()) throw new Error('hub address is empty: enter HOST:PORT, e.g. 127.0.0.1:7443');
  splitHostPort(hub);
  return hub.trim();
}

function checkParams(params: ConnectParams): ConnectParams {
  if (!params || typeof params !== 'object') throw new Error('connect needs { hub, token, fingerprint }');
  const hub = checkHub(params.hub);
  if (typeof params.token !== 'string' || !params.token.trim()) throw new Error('operator token is empty: paste the token the hub operator gave you');
  if (typeof params.fingerprint !== 'string' || !params.fingerprint.trim()) throw new Error('no certificate fingerprint accepted: probe the hub first and check its fingerprint');
  return { hub, token: params.token.trim(), fingerprint: normalizeFingerprint(params.fingerprint) };
}
