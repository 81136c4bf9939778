import type { ChannelFrame as ProtoChannelFrame } from '../../proto/gen/fleet/v1/channel';
import type { ChannelRequest, DeviceMessage, HubMessage } from '../../proto/gen/fleet/v1/device';
import type { DuplexCall } from '../../proto/stream-client-call';
import type { ControlChannel } from '../control-channel';
import { describeError } from '../device-client';
import { RemoteError } from '../remote/remote-error';
import type { ChannelOpen, RemoteSessions } from '../remote/remote-sessions';
import { channelOpenFromProto } from './channel-open';
import { GrpcChannelPeer } from './grpc-channel-peer';

// Remote sessions on the control stream: a channel request from the hub is
// checked against the device's config (RemoteSessions.check), answered with
// ChannelAnswer (accepted, or refused with the code), and when accepted the
// device dials DeviceService.Channel back and serves the session on it.
// All of that runs beside the control stream's message loop, never in it:
// a slow check (a file path on a slow disk, a DNS lookup for a tunnel) holds
// up nothing else.

export interface RemoteLinkOptions {
  sessions: RemoteSessions;
  /** Opens DeviceService.Channel for this channel id (device token + fleet-channel-id). */
  dial: (channelId: string) => DuplexCall<ProtoChannelFrame, ProtoChannelFrame>;
  log?: (line: string) => void;
}

export class RemoteLink {
  private send?: (msg: DeviceMessage) => void;
  private readonly serving = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly opts: RemoteLinkOptions) {}

  /** The control stream is up. */
  online(send: (msg: DeviceMessage) => void): void {
    this.send = send;
  }

  /** The control stream is gone. Open channels are separate calls and go on. */
  offline(): void {
    this.send = undefined;
  }

  /** Takes a channel request (true) and handles it in the background; false for any other message. */
  message(msg: HubMessage): boolean {
    if (msg.msg?.$case !== 'channelRequest') return false;
    const done = this.accept(msg.msg.channelRequest).finally(() => this.serving.delete(done));
    this.serving.add(done);
    return true;
  }

  /** Channels being served (dialled back and not yet ended). */
  get openChannels(): number {
    return this.opts.sessions.openChannels;
  }

  /** Ends every session (agent stopping or rebooting) and waits for them; later requests are refused. */
  async stop(reason: string): Promise<void> {
    this.stopped = true;
    await this.opts.sessions.closeAll(reason);
    await Promise.all([...this.serving]);
  }

  private async accept(request: ChannelRequest): Promise<void> {
    const { channelId } = request;
    const log = this.opts.log;
    let open: ChannelOpen;
    try {
      if (!channelId) throw new RemoteError('protocol', 'the channel request has no channel id');
      if (this.stopped) throw new RemoteError('internal', 'the agent is stopping');
      open = channelOpenFromProto(request.open);
      await this.opts.sessions.check(open);
      if (this.stopped) throw new RemoteError('internal', 'the agent is stopping');
    } catch (err) {
      const e = err instanceof RemoteError ? err : new RemoteError('internal', (err as Error)?.message ?? String(err));
      log?.(`channel ${channelId}: refused (${e.code}: ${e.message})`);
      this.answer({ channelId, refused: { code: e.code, message: e.message } });
      return;
    }
    // Without a control stream the answer is lost and the hub has given the channel up: do not dial.
    if (!this.answer({ channelId })) return;
    let peer: GrpcChannelPeer;
    try {
      peer = new GrpcChannelPeer(this.opts.dial(channelId), log && ((line) => log(`channel ${channelId}: ${line}`)));
    } catch (err) {
      log?.(`channel ${channelId}: cannot dial the hub back (${describeError(err)})`);
      return;
    }
    log?.(`channel ${channelId}: ${describe(open)} started`);
    let reason = 'done';
    peer.onClose((r) => (reason = r));
    await this.opts.sessions.serve(open, peer);
    // Every session closes its channel when it ends; this is the safety net.
    peer.close('done');
    log?.(`channel ${channelId}: ended (${reason})`);
  }

  private answer(answer: { channelId: string; refused?: { code: string; message: string } }): boolean {
    if (!this.send) return false;
    this.send({ msg: { $case: 'channelAnswer', channelAnswer: answer } });
    return true;
  }
}

/** The control channel of a device that also serves remote sessions: channel requests go to the link, the rest to `control`. */
export function withRemoteLink(control: ControlChannel | undefined, link: RemoteLink): ControlChannel {
  return {
    online(send) {
      link.online(send);
      control?.online(send);
    },
    offline() {
      link.offline();
      control?.offline();
    },
    message(msg) {
      if (!link.message(msg)) control?.message(msg);
    },
  };
}

function describe(open: ChannelOpen): string {
  switch (open.$case) {
    case 'shell':
      return `${open.shell.command !== undefined ? 'command' : 'shell'} for ${open.shell.operator}`;
    case 'file':
      return `file ${open.file.op} ${open.file.path}`;
    case 'portForward':
      return `port forward to ${open.portForward.host}:${open.portForward.port}`;
  }
}
