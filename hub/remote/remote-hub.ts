import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelError, ChannelOpen } from '../../proto/gen/fleet/v1/channel';
import type { ChannelAnswer } from '../../proto/gen/fleet/v1/device';
import type { DeviceSessions } from '../device/device-sessions';
import type { HubEvent, HubStore, Operator, SessionRecord } from '../store/store';
import { DEFAULT_COLS, DEFAULT_ROWS, type SessionTopic } from './channel-open';
import { ChannelRelay } from './channel-relay';
import { PendingChannels } from './pending-channels';
import { consoleEnd, deviceEnd, type ConsoleChannelCall, type DeviceChannelCall } from './relay-end';
import { SessionRecorder } from './session-recorder';

export interface RemoteOptions {
  /** From the console's start to the device's dial (answer included), default 10 s. */
  openTimeoutMs: number;
  /** Where recordings go: DIR/<sessionId>.cast. */
  recordingsDir: string;
  /** Recording size cap per session, default 32 MiB. */
  recordingMaxBytes: number;
  /** Recording bytes that may wait for the disk per session, default 2 MiB. */
  recordingQueueBytes: number;
}

export const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
export const DEFAULT_RECORDING_MAX_BYTES = 32 * 1024 * 1024;
export const DEFAULT_RECORDING_QUEUE_BYTES = 2 * 1024 * 1024;

interface OpenSession {
  record: SessionRecord;
  relay: ChannelRelay;
  /** Resolves once the end is stored. */
  finished: Promise<SessionRecord | undefined>;
  /** Set when an operator closed it with CloseSession. */
  closedBy?: string;
}

// The hub's part of remote sessions: channel ids waiting for their device,
// the open relays, and their bookkeeping (session rows, audit, recordings).
// The RPC handlers (console-channel.ts, device-channel.ts, session-rpcs.ts)
// work through it.
export class RemoteHub {
  readonly pending: PendingChannels;
  private readonly open = new Map<string, OpenSession>();

  constructor(
    readonly store: HubStore,
    private readonly devices: DeviceSessions,
    readonly options: RemoteOptions,
    private readonly log: (line: string) => void,
  ) {
    this.pending = new PendingChannels(options.openTimeoutMs);
    mkdirSync(options.recordingsDir, { recursive: true, mode: 0o700 });
  }

  get openSessions(): number {
    return this.open.size;
  }

  recordingPath(sessionId: string): string {
    return join(this.options.recordingsDir, `${sessionId}.cast`);
  }

  /** Sends the ChannelRequest on the device's control stream; false when the device has none. */
  askDevice(deviceId: string, channelId: string, open: ChannelOpen): boolean {
    const control = this.devices.get(deviceId);
    if (!control || control.ended) return false;
    control.call.write({ msg: { $case: 'channelRequest', channelRequest: { channelId, open } } });
    return true;
  }

  /** A ChannelAnswer arrived on a device's control stream. */
  onAnswer(deviceId: string, answer: ChannelAnswer): void {
    this.pending.answered(deviceId, answer.channelId, answer.refused);
  }

  /** The device has no control stream any more: its pending channels fail at once. */
  deviceOffline(deviceId: string): void {
    this.pending.deviceOffline(deviceId);
  }

  /** A device that stops being accepted loses its open sessions. */
  onEvents(events: HubEvent[]): void {
    for (const event of events) {
      const device = event.device;
      if (!device || device.status === 'accepted') continue;
      for (const s of this.open.values()) {
        if (s.record.deviceId === device.id) s.relay.close(`device ${device.status}`, { code: 'device-offline', message: `device ${device.id} is now ${device.status}: the session is over` });
      }
    }
  }

  /** Pairs the console's call with the device's and relays until either ends. */
  async startSession(operator: Operator, deviceId: string, topic: SessionTopic, open: ChannelOpen, consoleCall: ConsoleChannelCall, deviceCall: DeviceChannelCall): Promise<void> {
    const id = randomUUID();
    const recorded = topic.kind === 'shell' || topic.kind === 'command';
    const startedMs = Date.now();
    const record = await this.store.openSession({ id, deviceId, operator: operator.name, kind: topic.kind, detail: topic.detail, startedMs, recorded });
    const shell = open.kind?.$case === 'shell' ? open.kind.shell : undefined;
    const recorder = shell
      ? new SessionRecorder({
          path: this.recordingPath(id),
          cols: shell.cols || DEFAULT_COLS,
          rows: shell.rows || DEFAULT_ROWS,
          startedMs,
          maxBytes: this.options.recordingMaxBytes,
          maxQueuedBytes: this.options.recordingQueueBytes,
          command: shell.command,
          log: this.log,
        })
      : undefined;
    if (!consoleCall.cancelled) consoleCall.write({ msg: { $case: 'started', started: { sessionId: id, recorded } } });
    const relay = new ChannelRelay(consoleEnd(consoleCall), deviceEnd(deviceCall), (from, frame) => {
      if (!recorder) return;
      if (from === 'device' && (frame.case === 'data' || frame.case === 'stderr')) recorder.output(frame.payload!, frame.case);
      else if (from === 'console' && frame.frame?.frame?.$case === 'resize') recorder.resize(frame.frame.frame.resize.cols, frame.frame.frame.resize.rows);
    });
    const session: OpenSession = { record, relay, finished: Promise.resolve(undefined) };
    session.finished = relay.done
      .then(async (result) => {
        const recording = recorder ? await recorder.finish() : { bytes: 0, truncated: false };
        return this.store.endSession(
          id,
          {
            endedMs: Date.now(),
            endReason: session.closedBy ? `closed by ${session.closedBy}` : result.reason,
            bytesToDevice: result.bytesToDevice,
            bytesFromDevice: result.bytesFromDevice,
            recordingBytes: recording.bytes,
            recordingTruncated: recording.truncated,
          },
          session.closedBy ? { closedBy: session.closedBy } : {},
        );
      })
      .catch((err) => {
        this.log(`could not record the end of session ${id}: ${(err as Error).message}`);
        return undefined;
      })
      .finally(() => this.open.delete(id));
    this.open.set(id, session);
    relay.start();
  }

  /** Ends an open session (CloseSession); undefined when it is not open on this hub. */
  async closeSession(id: string, by: string): Promise<SessionRecord | undefined> {
    const session = this.open.get(id);
    if (!session) return undefined;
    session.closedBy ??= by;
    session.relay.close(`closed by ${by}`);
    return session.finished;
  }

  /** Refuses what is waiting and ends every open session, storing their ends. */
  async closeAll(reason: string): Promise<void> {
    this.pending.cancelAll();
    const error: ChannelError = { code: 'internal', message: reason };
    const sessions = [...this.open.values()];
    for (const s of sessions) s.relay.close(reason, error);
    await Promise.all(sessions.map((s) => s.finished));
  }
}
