import type { ServiceError } from '@grpc/grpc-js';
import { consoleChannelCall } from '../../proto/console-channel-call';
import type { ChannelFrame, ChannelOpen } from '../../proto/gen/fleet/v1/channel';
import type { ConsoleChannelResponse, ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import { HubCallError } from '../../src-main/services/hub-client/hub-connection';
import { hubError } from '../hub-session';
import { InboundWindow, MAX_FRAME_BYTES, OutboundCredit, WINDOW_BYTES } from './credit';

// One remote session (shell, file operation, or one tunnelled TCP
// connection) over ConsoleService.Channel, called on the hub's bare stream
// (proto/stream-wire.ts: one TLS connection per channel, no HTTP/2 or gRPC
// framing around the bytes): the start message, then frames both ways with
// end-to-end credit. The hub answers `started` when the
// device accepted; a refusal is an error frame then a close frame.

export type Frame = NonNullable<ChannelFrame['frame']>;

/** How long the call stays open after our close frame for the hub to end it (it travels behind the data in flight). */
const CLOSE_GRACE_MS = 10_000;

export interface ChannelEnd {
  reason: string;
  /** The last error frame (the device's or the hub's), if any. */
  error?: { code: string; message: string };
}

/** The hub or the device refused to open the channel. */
export class ChannelRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ChannelRefused';
  }
}

export interface HubLink {
  client: ConsoleServiceClient;
  token: string;
  /** host:port, named in error messages */
  hub: string;
  /** The hub's certificate and its pinned fingerprint (channels dial the hub themselves). */
  caPem: string;
  fingerprint: string;
}

export interface OpenOptions {
  /** Our receive window (default 1 MiB). */
  windowBytes?: number;
  /** Grant the first window at start (default true; an upload or a listing receives no data). */
  grant?: boolean;
  /** Largest data frame we send. */
  maxFrameBytes?: number;
  /** How long the hub may take to answer (it waits 10 s for the device). */
  startTimeoutMs?: number;
}

export interface RemoteChannel {
  readonly sessionId: string;
  readonly recorded: boolean;
  /** Frames other than `window` and `close`, in order; frames that arrive before the listener are kept for it. */
  onFrame(listener: (frame: Frame) => void): void;
  /** Sends data as credit allows (waits for it); false once the channel ended. */
  write(bytes: Uint8Array): Promise<boolean>;
  /** Sends a control frame (resize, eof, ...). */
  send(frame: Frame): void;
  /** `data`/`stderr` bytes were handed on (stdout, socket, disk): lets the device send more. */
  consumed(bytes: number): void;
  /** Ends the channel (a close frame, then the call ends). Idempotent. */
  close(reason: string): void;
  /**
   * After close(): true once the hub has ended the call — so it got our close
   * frame, which travels behind the data still in flight — or false after
   * `timeoutMs` (a process that exits before that may cut the close off).
   */
  closeDelivered(timeoutMs: number): Promise<boolean>;
  readonly ended: Promise<ChannelEnd>;
  readonly isEnded: boolean;
}

export function openChannel(link: HubLink, deviceId: string, open: ChannelOpen, options: OpenOptions = {}): Promise<RemoteChannel> {
  const call = consoleChannelCall(link);
  const maxFrame = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  const credit = new OutboundCredit();
  const sendFrame = (frame: Frame): void => {
    if (!finished) call.write({ msg: { $case: 'frame', frame: { frame } } });
  };
  const inbound = new InboundWindow((bytes) => sendFrame({ $case: 'window', window: { bytes } }), options.windowBytes ?? WINDOW_BYTES);

  let started: { sessionId: string; recorded: boolean } | undefined;
  let lastError: ChannelEnd['error'];
  let finished = false;
  let endWith: (end: ChannelEnd) => void = () => undefined;
  const ended = new Promise<ChannelEnd>((resolve) => (endWith = resolve));
  /** The call ended: true when the hub ended it (OK), false when it failed or was cancelled. */
  let callDone: (ok: boolean) => void = () => undefined;
  const callEnded = new Promise<boolean>((resolve) => (callDone = resolve));
  let listener: ((frame: Frame) => void) | undefined;
  const early: Frame[] = [];
  let fail: (err: Error) => void = () => undefined;
  let succeed: (channel: RemoteChannel) => void = () => undefined;

  const finish = (end: ChannelEnd): void => {
    if (finished) return;
    finished = true;
    credit.end();
    endWith(end);
  };
  const deliver = (frame: Frame): void => {
    if (listener) listener(frame);
    else early.push(frame);
  };

  const channel: RemoteChannel = {
    get sessionId() {
      return started?.sessionId ?? '';
    },
    get recorded() {
      return started?.recorded ?? false;
    },
    onFrame(l) {
      listener = l;
      for (const f of early.splice(0)) l(f);
    },
    async write(bytes) {
      let at = 0;
      while (at < bytes.byteLength) {
        const n = await credit.take(bytes.byteLength - at, maxFrame);
        if (n === 0) return false;
        sendFrame({ $case: 'data', data: Buffer.from(bytes.buffer, bytes.byteOffset + at, n) });
        at += n;
      }
      return !finished;
    },
    send: sendFrame,
    consumed: (bytes) => {
      if (!finished) inbound.consumed(bytes);
    },
    close(reason) {
      if (finished) return;
      sendFrame({ $case: 'close', close: { reason } });
      call.end();
      finish({ reason, error: lastError });
      // The hub ends the call after our close; do not wait on it for ever.
      setTimeout(() => call.cancel(), CLOSE_GRACE_MS).unref();
    },
    closeDelivered: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        void callEnded.then((ok) => {
          clearTimeout(timer);
          resolve(ok);
        });
      }),
    ended,
    get isEnded() {
      return finished;
    },
  };

  const startTimer = setTimeout(() => {
    fail(new ChannelRefused('timeout', `the hub did not answer within ${(options.startTimeoutMs ?? 20_000) / 1000} s`));
    call.cancel();
  }, options.startTimeoutMs ?? 20_000);

  call.on('data', (msg: ConsoleChannelResponse) => {
    if (msg.msg?.$case === 'started') {
      if (started) return;
      started = { sessionId: msg.msg.started.sessionId, recorded: msg.msg.started.recorded };
      clearTimeout(startTimer);
      if (options.grant !== false) inbound.start();
      succeed(channel);
      return;
    }
    const frame = msg.msg?.$case === 'frame' ? msg.msg.frame.frame : undefined;
    // Nothing after the channel ended (our own close included) reaches the session.
    if (!frame || (started && finished)) return;
    if (!started) {
      // A refusal: error, then close.
      if (frame.$case === 'error') lastError = { code: frame.error.code, message: frame.error.message };
      else if (frame.$case === 'close') {
        fail(new ChannelRefused(lastError?.code ?? 'closed', lastError?.message ?? frame.close.reason));
        call.cancel();
      }
      return;
    }
    try {
      switch (frame.$case) {
        case 'window':
          credit.grant(frame.window.bytes);
          return;
        case 'close':
          finish({ reason: frame.close.reason, error: lastError });
          call.end();
          return;
        case 'error':
          lastError = { code: frame.error.code, message: frame.error.message };
          break;
        case 'data':
          inbound.received(frame.data.byteLength);
          break;
        case 'stderr':
          inbound.received(frame.stderr.byteLength);
          break;
      }
    } catch (err) {
      lastError = { code: 'protocol', message: (err as Error).message };
      deliver({ $case: 'error', error: lastError });
      channel.close(`protocol: ${(err as Error).message}`);
      return;
    }
    deliver(frame);
  });
  call.on('error', (err: ServiceError) => {
    callDone(false);
    clearTimeout(startTimer);
    if (!started) return fail(hubError(new HubCallError(err), link.hub));
    // A cancel of our own after close is not news.
    if (finished) return;
    finish({ reason: `the hub connection failed: ${hubError(new HubCallError(err), link.hub).message}`, error: lastError ?? { code: 'hub-unavailable', message: err.details || err.message } });
  });
  call.on('end', () => {
    callDone(true);
    clearTimeout(startTimer);
    if (!started) return fail(new ChannelRefused(lastError?.code ?? 'closed', lastError?.message ?? 'the hub ended the channel before the device accepted it'));
    finish({ reason: lastError ? `${lastError.code}: ${lastError.message}` : 'the hub ended the channel', error: lastError });
  });

  call.write({ msg: { $case: 'start', start: { deviceId, open } } });
  return new Promise<RemoteChannel>((resolve, reject) => {
    succeed = resolve;
    fail = (err) => {
      finished = true;
      credit.end();
      reject(err);
    };
  });
}
