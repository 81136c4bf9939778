import * as grpc from '@grpc/grpc-js';
import type { ChannelFrame, ChannelOpen } from '../../../proto/gen/fleet/v1/channel';
import { consoleChannelCall } from '../../../proto/console-channel-call';
import type { ConsoleChannelRequest, ConsoleChannelResponse } from '../../../proto/gen/fleet/v1/console';
import type { HubSession } from '../connection/hub-session';
import { describeHubError } from '../hub-client/hub-connection';
import { RemoteFailure } from './remote-failure';

/** One frame of a channel, in ts-proto's union form ({ $case: 'data', data }). */
export type Frame = NonNullable<ChannelFrame['frame']>;

/** The console's end of one remote session relayed by the hub (ConsoleService.Channel). */
export interface HubChannel {
  readonly sessionId: string;
  readonly recorded: boolean;
  readonly closed: boolean;
  send(frame: Frame): void;
  /** Frames from the device, in order (error frames included); frames before the first listener are kept for it. */
  onFrame(listener: (frame: Frame) => void): () => void;
  /** Once, whichever side ended it; `error` is set when it ended on a refusal or failure. */
  onClose(listener: (reason: string, error?: RemoteFailure) => void): () => void;
  /** Sends a close frame and ends the call. Idempotent. */
  close(reason: string): void;
}

const START_TIMEOUT_MS = 20_000;

// Opens ConsoleService.Channel on the console's live hub connection: `start`
// first, then waits for `started` (the device accepted) or a refusal, which
// the hub always sends as an error frame then a close frame. The returned
// object is a small peer: frames both ways, one close.
export async function openHubChannel(session: HubSession, deviceId: string, open: ChannelOpen, startTimeoutMs = START_TIMEOUT_MS): Promise<HubChannel> {
  // On the hub's bare stream (proto/stream-wire.ts), one TLS connection per
  // channel, as fleetctl and the agent: gRPC's HTTP/2 leg cost several times
  // the CPU per byte and added most of a keystroke's echo time.
  const call = consoleChannelCall(session.streamTarget('a remote session'));
  return new Promise<HubChannel>((resolve, reject) => {
    let sessionId = '';
    let recorded = false;
    let started = false;
    let closed = false;
    let failure: RemoteFailure | undefined;
    const frameListeners = new Set<(f: Frame) => void>();
    const closeListeners = new Set<(reason: string, error?: RemoteFailure) => void>();
    const early: Frame[] = [];

    const timer = setTimeout(() => finish('timeout', new RemoteFailure('timeout', `${deviceId} did not accept the session within ${startTimeoutMs / 1000} s; is it online?`)), startTimeoutMs);

    const finish = (reason: string, error?: RemoteFailure): void => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      if (!started) {
        reject(error ?? new RemoteFailure('closed', `${deviceId} ended the session before it started: ${reason || 'no reason given'}`));
      }
      try {
        call.end();
      } catch {
        // already ended
      }
      // A refused or lost call leaves nothing to wait for on the hub.
      if (error && error.code !== 'closed') call.cancel();
      for (const l of [...closeListeners]) l(reason, error);
      closeListeners.clear();
      frameListeners.clear();
    };

    const channel: HubChannel = {
      get sessionId() {
        return sessionId;
      },
      get recorded() {
        return recorded;
      },
      get closed() {
        return closed;
      },
      send(frame) {
        if (closed) return;
        call.write({ msg: { $case: 'frame', frame: { frame } } } satisfies ConsoleChannelRequest);
      },
      onFrame(listener) {
        frameListeners.add(listener);
        for (const f of early.splice(0)) listener(f);
        return () => frameListeners.delete(listener);
      },
      onClose(listener) {
        if (closed) {
          listener('closed', failure);
          return () => {};
        }
        closeListeners.add(listener);
        return () => closeListeners.delete(listener);
      },
      close(reason) {
        if (closed) return;
        call.write({ msg: { $case: 'frame', frame: { frame: { $case: 'close', close: { reason } } } } } satisfies ConsoleChannelRequest);
        finish(reason);
      },
    };

    call.on('data', (res: ConsoleChannelResponse) => {
      if (closed || !res.msg) return;
      if (res.msg.$case === 'started') {
        started = true;
        clearTimeout(timer);
        sessionId = res.msg.started.sessionId;
        recorded = res.msg.started.recorded;
        resolve(channel);
        return;
      }
      const frame = res.msg.frame.frame;
      if (!frame) return;
      if (frame.$case === 'error') failure = new RemoteFailure(frame.error.code, frame.error.message);
      if (frame.$case === 'close') return finish(frame.close.reason, failure);
      if (!started) return; // an error before start: the close that follows rejects with it
      if (frameListeners.size === 0) early.push(frame);
      else for (const l of [...frameListeners]) l(frame);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.CANCELLED && closed) return;
      finish(`hub connection lost: ${describeHubError(err)}`, failure ?? new RemoteFailure(err.code === grpc.status.PERMISSION_DENIED ? 'forbidden' : 'connection-lost', describeHubError(err)));
    });
    call.on('end', () => finish('the hub ended the session', failure));

    call.write({ msg: { $case: 'start', start: { deviceId, open } } } satisfies ConsoleChannelRequest);
  });
}
