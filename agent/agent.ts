import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { decodeChannelFrame, encodeChannelFrame } from '../proto/channel-frame-codec';
import type { ChannelFrame } from '../proto/gen/fleet/v1/channel';
import { AdmissionStatus } from '../proto/gen/fleet/v1/common';
import { DeviceServiceService, type ChallengeResponse, type DeviceServiceClient, type EnrollResponse, type HubMessage } from '../proto/gen/fleet/v1/device';
import { enrollPayload } from '../proto/enroll-payload';
import { ClientStreamCall, type DuplexCall } from '../proto/stream-client-call';
import { Backoff, DEFAULT_BACKOFF, withJitter, type BackoffOptions } from './backoff';
import type { ControlChannel } from './control-channel';
import { bearer, channelMetadata, createDeviceClient, describeError, hubFingerprint } from './device-client';
import { loadOrCreateIdentityKey, signWithIdentity, type IdentityKey } from './identity-key';
import { inventoryPatch, normalizeInventory, type Inventory } from './inventory-patch';
import { readToken, removeToken, writeToken, type StoredToken } from './token-file';
import type { ChunkStream } from './update/download';
import { ARTIFACT_STREAM_MIN_BYTES, openArtifactStream } from './update/artifact-stream';

// One device's life with its hub: identity key -> enrollment (pending,
// rejected, accepted) -> control stream (hello, inventory, heartbeats) ->
// on any failure, back off and try again. The loop never throws and never
// waits without a deadline; each new failure reason is logged once.

export type AgentState = 'starting' | 'enrolling' | 'pending' | 'rejected' | 'connecting' | 'online' | 'backoff' | 'stopped';

export interface AgentOptions {
  /** host:port of the hub */
  hub: string;
  /** PEM of the hub certificate; the hub must present exactly this one. */
  caPem: string;
  /** Folder for identity.key, the saved token (and later, update state). */
  stateDir: string;
  identity: () => Promise<Record<string, string>> | Record<string, string>;
  inventory: () => Promise<Record<string, string>> | Record<string, string>;
  /**
   * fsync the identity key when it is made (default true). The simulator
   * turns it off: its devices never lose power, and 10,000 fsyncs at once
   * measure the disk (minutes here), not the hub.
   */
  durableKey?: boolean;
  /** How often to look for inventory changes while online (default 1 h). */
  inventoryIntervalMs?: number;
  /** Reconnect backoff (default 1 s .. 60 s, full jitter). */
  backoff?: { baseMs: number; maxMs: number };
  /** Deployment commands and update reports (the update engine) on the control stream. */
  control?: ControlChannel;
  log?: (line: string) => void;
}

const DEFAULT_INVENTORY_INTERVAL_MS = 3_600_000;
const CALL_TIMEOUT_MS = 15_000;
const HELLO_TIMEOUT_MS = 30_000;
const DEFAULT_HEARTBEAT_MS = 30_000;
const DEFAULT_PENDING_RETRY_MS = 30_000;
/**
 * Every Enroll says (metadata fleet-wait-ms) that the device can wait for an
 * operator's decision; a device the hub already knows as pending is then
 * held until the decision (accepted: it learns so at once) or the wait ends.
 * The long deadline is used only once the device knows it is pending; hubs
 * that do not hold answer at once, as before.
 */
const PENDING_WAIT_MS = 50_000;
const WAIT_METADATA = 'fleet-wait-ms';
/** Missed acks tolerated before the stream is considered dead. */
const SILENT_HEARTBEATS = 3;
/** Refresh the token when this fraction of its lifetime has passed. */
const TOKEN_REFRESH_AT = 0.75;
/** A saved token with less life than this is not worth a Connect: enroll. */
const SAVED_TOKEN_MIN_LIFE_MS = 60_000;

interface SessionEnd {
  code: grpc.status;
  reason: string;
  wasOnline: boolean;
}

export class DeviceAgent extends EventEmitter {
  private readonly opts: AgentOptions;
  private readonly backoffOpts: BackoffOptions;
  private readonly backoff: Backoff;
  private current: AgentState = 'starting';
  private id = '';
  private key?: IdentityKey;
  private client?: DeviceServiceClient;
  private token?: string;
  private tokenRefreshAt = Infinity;
  /** Auth refusals since the last good connection: guards against a hot loop. */
  private authRefusals = 0;
  private lastReason?: string;
  /** "accepted" is news once per admission, not on every token. */
  private acceptedLogged = false;
  private running?: Promise<void>;
  private stopping = false;
  private sleepTimer?: NodeJS.Timeout;
  private wakeSleep?: () => void;
  private inFlight?: grpc.ClientUnaryCall;
  private endSession?: (end: SessionEnd) => void;
  /** Sends a full inventory on the live stream (set while online). */
  private pokeInventory?: () => void;
  /** Token file writes, in order; stop() waits for them. */
  private tokenSaving: Promise<void> = Promise.resolve();

  constructor(opts: AgentOptions) {
    super();
    this.opts = opts;
    this.backoffOpts = opts.backoff ?? DEFAULT_BACKOFF;
    this.backoff = new Backoff(this.backoffOpts);
  }

  get state(): AgentState {
    return this.current;
  }

  /** The id the hub gave this device; '' until the hub has answered. */
  get deviceId(): string {
    return this.id;
  }

  /** Raw ed25519 public key once the identity is loaded. */
  get publicKey(): Buffer | undefined {
    return this.key?.publicKey;
  }

  /** The latest failure reason, cleared when the device comes online. */
  get problem(): string | undefined {
    return this.current === 'online' ? undefined : this.lastReason;
  }

  /**
   * An artifact's bytes from `offset`, with the current token. Fails like a
   * broken stream (UNAVAILABLE) while the device has no token yet, so callers
   * simply retry. Big artifacts come through the hub's artifact stream (its
   * own HTTP/2 connection with a bigger window, a third of the CPU per byte:
   * update/artifact-stream.ts); small ones through the Download RPC on the
   * connection the device already has, where a new TLS handshake would cost
   * more than the window saves — and thousands of devices fetching a small
   * artifact at once would all handshake together.
   */
  download(artifactId: string, offset: number, size = 0): ChunkStream {
    if (!this.client || !this.token) throw Object.assign(new Error('not connected to the hub yet'), { code: grpc.status.UNAVAILABLE, details: 'not connected to the hub yet' });
    if (size >= ARTIFACT_STREAM_MIN_BYTES) return openArtifactStream({ hub: this.opts.hub, caPem: this.opts.caPem, token: this.token }, artifactId, offset);
    return this.client.download({ artifactId, offset }, bearer(this.token));
  }

  /**
   * Dials DeviceService.Channel for a channel the hub asked for (remote
   * sessions), with the current token. Throws like download() while the
   * device has no token.
   */
  channel(channelId: string): DuplexCall<ChannelFrame, ChannelFrame> {
    if (!this.client || !this.token) throw Object.assign(new Error('not connected to the hub yet'), { code: grpc.status.UNAVAILABLE, details: 'not connected to the hub yet' });
    // The bare stream on the hub's port (proto/stream-wire.ts), one TLS
    // connection per channel: tunnels and file transfers are nothing but
    // bytes, and gRPC's HTTP/2 cost several times the CPU per byte.
    return new ClientStreamCall({
      hub: this.opts.hub,
      caPem: this.opts.caPem,
      fingerprint: hubFingerprint(this.opts.caPem),
      method: DeviceServiceService.channel.path,
      metadata: channelMetadata(this.token, channelId),
      serialize: encodeChannelFrame,
      deserialize: decodeChannelFrame,
    });
  }

  /** Something in the inventory changed (an update was installed): send it now if online. */
  inventoryChanged(): void {
    this.pokeInventory?.();
  }

  start(): void {
    if (this.running || this.stopping) return;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wakeSleep?.();
    this.inFlight?.cancel();
    this.endSession?.({ code: grpc.status.CANCELLED, reason: 'agent stopping', wasOnline: this.current === 'online' });
    await this.running;
    await this.tokenSaving;
    this.client?.close();
    this.client = undefined;
    this.setState('stopped');
  }

  private setState(next: AgentState): void {
    if (next === this.current) return;
    this.current = next;
    this.emit('state', next);
  }

  /** Logs a status line only when it differs from the previous one. */
  private report(reason: string): void {
    // grpc stamps some errors with the time; that alone is not a new reason.
    const key = reason.replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '');
    if (key === this.lastReason) return;
    this.lastReason = key;
    this.opts.log?.(key);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        if (!this.key) await this.loadKey();
        else if (!this.token) await this.enrollStep();
        else await this.connectStep();
      } catch (err) {
        // A bug or an unexpected environment problem: say so and retry later
        // rather than take the whole process (and other devices) down.
        this.report(`unexpected error: ${(err as Error)?.message ?? String(err)}`);
        this.setState('backoff');
        await this.sleep(this.backoff.next());
      }
    }
  }

  private async loadKey(): Promise<void> {
    this.setState('starting');
    this.key = await loadOrCreateIdentityKey(this.opts.stateDir, { durable: this.opts.durableKey ?? true });
    if (this.key.created) this.opts.log?.(`created identity key ${this.opts.stateDir}/identity.key`);
    this.client = createDeviceClient(this.opts.hub, this.opts.caPem);
    // A token saved by the previous run: one Connect instead of Challenge + Enroll + Connect.
    const saved = await readToken(this.opts.stateDir, hubFingerprint(this.opts.caPem), SAVED_TOKEN_MIN_LIFE_MS);
    if (saved) {
      this.token = saved.token;
      this.tokenRefreshAt = saved.refreshAtMs;
    }
  }

  /** Saves (or, with undefined, forgets) the token for the next run; failures only cost an enrollment then. */
  private saveToken(token: StoredToken | undefined): void {
    const dir = this.opts.stateDir;
    this.tokenSaving = this.tokenSaving
      .then(() => (token ? writeToken(dir, token) : removeToken(dir)))
      .catch((err) => this.report(`cannot save the device token in ${dir} (${(err as Error).message}); the next start will enroll again`));
  }

  /**
   * A fresh channel after a connection failure: grpc's channel keeps its own
   * reconnect backoff and, until that runs out, fails calls at once with the
   * old error. Stacked on ours, the two would keep a device away from a hub
   * that is back; with a fresh channel each of our attempts really dials.
   * (A slow hub, DEADLINE_EXCEEDED, keeps its connection: no new handshake.)
   */
  private renewChannel(): void {
    this.client?.close();
    this.client = createDeviceClient(this.opts.hub, this.opts.caPem);
  }

  private async enrollStep(): Promise<void> {
    const waitMs = this.current === 'pending' ? PENDING_WAIT_MS : 0;
    // Still pending while the hub holds the answer: that is what the device is.
    if (!waitMs) this.setState('enrolling');
    let res: EnrollResponse;
    try {
      res = await this.enroll(waitMs);
    } catch (err) {
      if (this.stopping) return;
      this.report(`enrollment failed (${explain(describeError(err))}); retrying with backoff`);
      this.setState('backoff');
      if ((err as grpc.ServiceError).code === grpc.status.UNAVAILABLE) this.renewChannel();
      await this.sleep(this.backoff.next());
      return;
    }
    // The hub answered: whatever it said, it is reachable.
    this.backoff.reset();
    if (res.deviceId) this.id = res.deviceId;
    switch (res.status) {
      case AdmissionStatus.ADMISSION_STATUS_ACCEPTED:
        this.takeToken(res);
        if (!this.acceptedLogged) this.opts.log?.(`accepted as device ${this.id}; connecting`);
        this.acceptedLogged = true;
        return;
      case AdmissionStatus.ADMISSION_STATUS_PENDING:
        this.acceptedLogged = false;
        this.setState('pending');
        this.report(`pending: device ${this.id} waits for an operator to accept it`);
        await this.sleep(withJitter(res.retryAfterMs > 0 ? res.retryAfterMs : DEFAULT_PENDING_RETRY_MS));
        return;
      case AdmissionStatus.ADMISSION_STATUS_REJECTED:
        this.acceptedLogged = false;
        this.setState('rejected');
        this.report(`REJECTED: the hub refused device ${this.id}; asking again every ~${Math.round(this.backoffOpts.maxMs / 1000)} s in case an operator accepts it`);
        await this.sleep(withJitter(this.backoffOpts.maxMs));
        return;
      default:
        this.report(`enrollment answer has unknown status ${res.status}; retrying with backoff`);
        this.setState('backoff');
        await this.sleep(this.backoff.next());
    }
  }

  /** Challenge -> sign -> Enroll; a pending device may be held up to `waitMs` for a decision. */
  private async enroll(waitMs = 0): Promise<EnrollResponse> {
    const key = this.key!;
    const identity = normalizeInventory(await this.opts.identity());
    const challenge = await this.unary<ChallengeResponse>((cb) => this.client!.challenge({}, new grpc.Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, cb));
    const signature = signWithIdentity(key, enrollPayload(challenge.nonce, key.publicKey, identity));
    const md = new grpc.Metadata();
    md.set(WAIT_METADATA, String(PENDING_WAIT_MS));
    return this.unary<EnrollResponse>((cb) =>
      this.client!.enroll({ identity, publicKey: key.publicKey, nonce: challenge.nonce, signature }, md, { deadline: Date.now() + CALL_TIMEOUT_MS + waitMs }, cb),
    );
  }

  private unary<T>(start: (cb: (err: grpc.ServiceError | null, res: T) => void) => grpc.ClientUnaryCall): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.stopping) return reject(new Error('agent stopping'));
      const call = start((err, res) => {
        if (this.inFlight === call) this.inFlight = undefined;
        if (err) reject(err);
        else resolve(res);
      });
      this.inFlight = call;
    });
  }

  private takeToken(res: EnrollResponse): void {
    this.token = res.token;
    const now = Date.now();
    // token_expires_ms is the hub's wall clock; a skewed device clock at
    // worst refreshes early or learns of expiry from the hub (UNAUTHENTICATED).
    const lifetime = Math.max(res.tokenExpiresMs - now, 1_000);
    this.tokenRefreshAt = now + lifetime * TOKEN_REFRESH_AT;
    this.saveToken({ token: res.token, expiresMs: res.tokenExpiresMs, refreshAtMs: this.tokenRefreshAt, hub: hubFingerprint(this.opts.caPem) });
  }

  private async connectStep(): Promise<void> {
    this.setState('connecting');
    const token = this.token!;
    const end = await this.session(token);
    if (this.stopping) return;
    if (end.code === grpc.status.UNAUTHENTICATED || end.code === grpc.status.PERMISSION_DENIED) {
      // A token refreshed during the session is still good: reconnect with
      // it. That is routine (the hub ends streams at token expiry): no news.
      if (this.token !== token) return;
      this.token = undefined;
      this.saveToken(undefined);
      const what = end.code === grpc.status.UNAUTHENTICATED ? 'token refused' : 'device not accepted';
      this.report(`${what} (${end.reason}); enrolling again`);
      // The first refusal is normal (expired token); repeated ones mean the
      // hub accepts us on Enroll but not on Connect: do not hammer it.
      if (this.authRefusals++ > 0) {
        this.setState('backoff');
        await this.sleep(this.backoff.next());
      }
      return;
    }
    this.report(`${end.wasOnline ? 'connection lost' : 'cannot connect'} (${explain(end.reason)}); retrying with backoff`);
    this.setState('backoff');
    if (end.code === grpc.status.UNAVAILABLE) this.renewChannel();
    await this.sleep(this.backoff.next());
  }

  /** One control stream, from open to its end. Resolves; never rejects. */
  private session(token: string): Promise<SessionEnd> {
    return new Promise((resolve) => {
      const stream = this.client!.connect(bearer(token));
      const opened = Date.now();
      let online = false;
      let intervalMs = DEFAULT_HEARTBEAT_MS;
      let lastHeard = opened;
      let nextHeartbeat = Infinity;
      let nextInventoryCheck = Infinity;
      let sent: Inventory = {};
      let busy = false;
      let timer: NodeJS.Timeout | undefined;
      let ended = false;
      const inventoryEvery = this.opts.inventoryIntervalMs ?? DEFAULT_INVENTORY_INTERVAL_MS;

      const finish = (end: SessionEnd): void => {
        if (ended) return;
        ended = true;
        if (this.endSession === finish) this.endSession = undefined;
        if (timer) clearTimeout(timer);
        this.pokeInventory = undefined;
        if (online) this.opts.control?.offline();
        stream.cancel();
        resolve(end);
      };
      this.endSession = finish;

      // One timer per device, set for whichever duty is due first.
      const schedule = (): void => {
        if (ended) return;
        if (timer) clearTimeout(timer);
        const due = online ? Math.min(nextHeartbeat, nextInventoryCheck, this.tokenRefreshAt) : opened + HELLO_TIMEOUT_MS;
        timer = setTimeout(tick, Math.max(0, due - Date.now()));
      };

      const tick = (): void => {
        timer = undefined;
        const now = Date.now();
        if (!online) return finish({ code: grpc.status.DEADLINE_EXCEEDED, reason: `no Hello from the hub within ${HELLO_TIMEOUT_MS / 1000} s`, wasOnline: false });
        if (now - lastHeard > SILENT_HEARTBEATS * intervalMs + 5_000) {
          return finish({ code: grpc.status.UNAVAILABLE, reason: `hub silent for ${Math.round((now - lastHeard) / 1000)} s`, wasOnline: true });
        }
        if (now >= nextHeartbeat) {
          stream.write({ msg: { $case: 'heartbeat', heartbeat: { sentMs: now } } });
          nextHeartbeat = now + intervalMs;
        }
        if (now >= nextInventoryCheck && !busy) {
          nextInventoryCheck = now + inventoryEvery;
          void sendInventory(false);
        }
        if (now >= this.tokenRefreshAt) {
          this.tokenRefreshAt = Infinity;
          void this.refreshToken().finally(schedule);
        }
        schedule();
      };

      const sendInventory = async (full: boolean): Promise<void> => {
        busy = true;
        try {
          const inv = normalizeInventory(await this.opts.inventory());
          if (ended) return;
          const attributes = full ? inv : inventoryPatch(sent, inv);
          if (full || Object.keys(attributes).length > 0) stream.write({ msg: { $case: 'inventory', inventory: { attributes, full } } });
          sent = inv;
        } catch (err) {
          this.report(`cannot read inventory: ${(err as Error).message}`);
        } finally {
          busy = false;
        }
      };

      stream.on('data', (msg: HubMessage) => {
        lastHeard = Date.now();
        if (msg.msg?.$case !== 'hello') {
          if (online && msg.msg?.$case !== 'heartbeatAck') this.opts.control?.message(msg);
          return;
        }
        if (online) return;
        const hello = msg.msg.hello;
        online = true;
        if (hello.deviceId) this.id = hello.deviceId;
        if (hello.heartbeatIntervalMs > 0) intervalMs = hello.heartbeatIntervalMs;
        this.backoff.reset();
        this.authRefusals = 0;
        this.setState('online');
        this.report(`online as device ${this.id} (hub ${hello.hubId}, heartbeat every ${intervalMs} ms)`);
        nextHeartbeat = lastHeard + intervalMs;
        nextInventoryCheck = lastHeard + inventoryEvery;
        void sendInventory(true);
        this.pokeInventory = () => void sendInventory(true);
        this.opts.control?.online((out) => {
          if (!ended) stream.write(out);
        });
        schedule();
      });
      stream.on('error', (err: grpc.ServiceError) => finish({ code: err.code, reason: describeError(err), wasOnline: online }));
      stream.on('end', () => finish({ code: grpc.status.UNAVAILABLE, reason: 'the hub closed the control stream', wasOnline: online }));
      schedule();
    });
  }

  /** Re-enrolls in the background before the token runs out. */
  private async refreshToken(): Promise<void> {
    try {
      const res = await this.enroll();
      if (res.status === AdmissionStatus.ADMISSION_STATUS_ACCEPTED) this.takeToken(res);
      // Otherwise the hub no longer admits us; it says so on the stream.
    } catch (err) {
      if (this.stopping) return;
      this.report(`token refresh failed (${describeError(err)}); will retry`);
      this.tokenRefreshAt = Date.now() + Math.min(this.backoffOpts.maxMs, 10_000);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeSleep = resolve;
      this.sleepTimer = setTimeout(() => {
        this.sleepTimer = undefined;
        this.wakeSleep = undefined;
        resolve();
      }, ms);
    });
  }
}

/** Adds what to do to errors whose cause is not obvious from grpc's words. */
function explain(reason: string): string {
  // OpenSSL checks the chain before our pin: a different hub certificate
  // shows up as a self-signed or unknown-issuer error.
  if (/self[- ]signed certificate|unable to get local issuer|certificate verify failed/i.test(reason)) {
    return `${reason} — the hub presented a certificate other than the trusted one: check the hub address and that the CA file is this hub's hub.crt`;
  }
  return reason;
}
