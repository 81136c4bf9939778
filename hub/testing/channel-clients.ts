import * as grpc from '@grpc/grpc-js';
import type { ChannelFrame, ChannelOpen } from '../../proto/gen/fleet/v1/channel';
import type { ChannelStarted, ConsoleChannelRequest, ConsoleChannelResponse, ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { bearer } from './grpc-clients';

// Both ends of a remote-session channel as tests drive them: the console's
// ConsoleService.Channel call and the device's dialled-back
// DeviceService.Channel call, with what they receive queued for next().

/** One side's view of a channel call. */
export interface ChannelEnd {
  /** Every frame received so far. */
  received: ChannelFrame[];
  /** The next frame not yet taken by next(); rejects after timeoutMs or when the call ended without one. */
  next(timeoutMs?: number): Promise<ChannelFrame>;
  /** Frames until (and including) the first of this case. */
  until(kind: NonNullable<ChannelFrame['frame']>['$case'], timeoutMs?: number): Promise<ChannelFrame[]>;
  /** false when grpc-js buffers past its high-water mark (wait for drain). */
  send(frame: ChannelFrame['frame']): boolean;
  /** Waits for grpc-js to have room again. */
  drained(): Promise<void>;
  /** The final status of the call. */
  status: Promise<grpc.StatusObject>;
  /** Stops/starts reading (a console that stops reading). */
  pause(): void;
  resume(): void;
  cancel(): void;
  end(): void;
}

export interface ConsoleChannel extends ChannelEnd {
  call: grpc.ClientDuplexStream<ConsoleChannelRequest, ConsoleChannelResponse>;
  /** Resolves with `started`, or undefined when the channel ended without one (a refusal). */
  started: Promise<ChannelStarted | undefined>;
}

export interface DeviceChannel extends ChannelEnd {
  call: grpc.ClientDuplexStream<ChannelFrame, ChannelFrame>;
}

/** Opens ConsoleService.Channel and sends start{deviceId, open}. */
export function openConsoleChannel(client: ConsoleServiceClient, token: string, deviceId: string, open: ChannelOpen): ConsoleChannel {
  const call = client.channel(bearer(token));
  let gotStarted!: (s: ChannelStarted | undefined) => void;
  const started = new Promise<ChannelStarted | undefined>((resolve) => (gotStarted = resolve));
  const end = trackEnd(
    call,
    (m: ConsoleChannelResponse) => {
      if (m.msg?.$case === 'started') {
        gotStarted(m.msg.started);
        return undefined;
      }
      // A refusal comes as error + close before any started.
      if (m.msg?.frame.frame?.$case === 'close') gotStarted(undefined);
      return m.msg?.$case === 'frame' ? m.msg.frame : undefined;
    },
    (frame) => call.write({ msg: { $case: 'frame', frame: { frame } } }),
  );
  void end.status.then(() => gotStarted(undefined));
  call.write({ msg: { $case: 'start', start: { deviceId, open } } });
  return { ...end, call, started };
}

/** Dials DeviceService.Channel as an agent does after accepting a ChannelRequest. */
export function dialDeviceChannel(client: DeviceServiceClient, token: string, channelId: string): DeviceChannel {
  const md = bearer(token);
  md.set('fleet-channel-id', channelId);
  const call = client.channel(md);
  const end = trackEnd(call, (frame: ChannelFrame) => frame, (frame) => call.write({ frame }));
  return { ...end, call };
}

export const shellOpen = (opts: { cols?: number; rows?: number; command?: string; operator?: string } = {}): ChannelOpen => ({
  kind: { $case: 'shell', shell: { operator: opts.operator ?? '', cols: opts.cols, rows: opts.rows, command: opts.command } },
});

export const dataFrame = (bytes: Uint8Array | string): ChannelFrame['frame'] => ({ $case: 'data', data: Buffer.from(bytes) });
export const windowFrame = (bytes: number): ChannelFrame['frame'] => ({ $case: 'window', window: { bytes } });
export const closeFrame = (reason: string): ChannelFrame['frame'] => ({ $case: 'close', close: { reason } });

function trackEnd<Req, M>(
  call: grpc.ClientDuplexStream<Req, M>,
  toFrame: (m: M) => ChannelFrame | undefined,
  write: (frame: ChannelFrame['frame']) => boolean,
): ChannelEnd {
  const received: ChannelFrame[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  let ended = false;
  call.on('data', (m: M) => {
    const frame = toFrame(m);
    if (frame) received.push(frame);
    wake?.();
  });
  // Errors arrive as the status below; without a listener they would throw.
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) =>
    call.on('status', (s) => {
      ended = true;
      wake?.();
      resolve(s);
    }),
  );
  const next = async (timeoutMs = 5000): Promise<ChannelFrame> => {
    const until = Date.now() + timeoutMs;
    while (received.length <= taken) {
      if (ended) throw new Error(`the channel ended after ${received.length} frames, no more frames`);
      if (Date.now() > until) throw new Error(`no channel frame within ${timeoutMs} ms (got ${received.length} so far)`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    return received[taken++];
  };
  return {
    received,
    next,
    async until(kind, timeoutMs = 5000) {
      const out: ChannelFrame[] = [];
      for (;;) {
        const frame = await next(timeoutMs);
        out.push(frame);
        if (frame.frame?.$case === kind) return out;
      }
    },
    send: (frame) => write(frame),
    drained: () => new Promise<void>((resolve) => call.once('drain', () => resolve())),
    status,
    pause: () => call.pause(),
    resume: () => call.resume(),
    cancel: () => call.cancel(),
    end: () => call.end(),
  };
}
