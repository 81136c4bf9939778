import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { DeviceMessage, HubMessage } from '../../proto/gen/fleet/v1/device';
import type { HubEvent } from '../store/store';
import type { PresenceWriter } from './presence-writer';

export type DeviceCall = ServerDuplexStream<DeviceMessage, HubMessage>;

/** One open control stream of one device. */
export class DeviceSession {
  lastActivityMs = Date.now();
  ended = false;
  /** Deployments this stream was told to abort in answer to a report (once each). */
  readonly abortsAnswered = new Set<string>();
  constructor(
    readonly deviceId: string,
    readonly call: DeviceCall,
  ) {}
}

// The registry of open control streams: at most one per device, offline
// bookkeeping when a stream ends for any reason, and the sweep that ends
// streams gone silent. All O(1) per message; the sweep is O(N) per interval.
export class DeviceSessions {
  private readonly sessions = new Map<string, DeviceSession>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly offlineListeners = new Set<(deviceId: string) => void>();

  constructor(
    private readonly presence: PresenceWriter,
    private readonly heartbeatIntervalMs: number,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  has(deviceId: string): boolean {
    return this.sessions.has(deviceId);
  }

  get(deviceId: string): DeviceSession | undefined {
    return this.sessions.get(deviceId);
  }

  /** Called when a device has no control stream any more (not when a newer stream replaced it). */
  onOffline(listener: (deviceId: string) => void): () => void {
    this.offlineListeners.add(listener);
    return () => this.offlineListeners.delete(listener);
  }

  /** Registers a stream; an older stream of the same device is ended first. */
  open(deviceId: string, call: DeviceCall): DeviceSession {
    const session = new DeviceSession(deviceId, call);
    const previous = this.sessions.get(deviceId);
    this.sessions.set(deviceId, session);
    if (previous) this.finish(previous, status.ABORTED, 'replaced by a newer connection of the same device', `device:${deviceId}`);
    this.presence.online(deviceId, `device:${deviceId}`);
    return session;
  }

  /**
   * Ends a session: sends the status (OK ends the stream cleanly) and records
   * the device offline unless a newer stream already took its place.
   */
  finish(session: DeviceSession, code: status, details: string, actor: string): void {
    if (session.ended) return;
    session.ended = true;
    if (this.sessions.get(session.deviceId) === session) {
      this.sessions.delete(session.deviceId);
      this.presence.offline(session.deviceId, actor);
      for (const listener of this.offlineListeners) listener(session.deviceId);
    }
    endCall(session.call, code, details);
  }

  /** Reacts to committed changes: a device no longer accepted loses its stream at once. */
  onEvents(events: HubEvent[]): void {
    for (const event of events) {
      const device = event.device;
      if (!device || device.status === 'accepted') continue;
      const session = this.sessions.get(device.id);
      if (session) this.finish(session, status.PERMISSION_DENIED, `device ${device.id} is ${device.status}: an operator must accept it`, event.actor);
    }
  }

  startSweeper(): void {
    const every = Math.max(50, Math.min(this.heartbeatIntervalMs, 10_000) / 2);
    this.sweeper ??= setInterval(() => this.sweep(Date.now()), every);
    this.sweeper.unref();
  }

  /** Ends streams that sent nothing for three heartbeat intervals. */
  sweep(now: number): void {
    const limit = 3 * this.heartbeatIntervalMs;
    for (const session of this.sessions.values()) {
      if (now - session.lastActivityMs > limit) {
        this.finish(session, status.DEADLINE_EXCEEDED, `no message from the device for ${limit} ms (3 heartbeat intervals): considered dead`, 'hub');
      }
    }
  }

  closeAll(code: status, details: string): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const session of [...this.sessions.values()]) this.finish(session, code, details, 'hub');
  }
}

/** Ends a server stream with a status; OK ends it cleanly. */
export function endCall(call: DeviceCall, code: status, details: string): void {
  if (call.writableEnded || call.destroyed) return;
  // grpc-js turns an 'error' event on a server stream into the final status.
  if (code === status.OK) call.end();
  else call.emit('error', { code, details });
}
