import type { ChannelPeer } from './channel-frame';
import { refuse } from './channel-frame';
import { FileTransfers, type FileRequest } from './file-transfer/file-transfers';
import type { PathUse } from './file-transfer/root-policy';
import { PortForwarder, type PortForwardRequest } from './port-forward';
import type { RemoteConfig } from './remote-config';
import { RemoteError } from './remote-error';
import { ShellSessions } from './shell-sessions';
import type { ShellOptions, ShellRequest } from './shell-types';

// The device's remote-troubleshooting entry point: one object built from the
// config's `remote` section that the control channel asks "would you accept
// this?" (check) and then hands the dialled-back channel to (serve). Nothing
// here knows the transport.

/** What the hub asks for when it opens a channel (ts-proto oneof shape, like ChannelFrame). */
export type ChannelOpen =
  | { $case: 'shell'; shell: ShellRequest }
  | { $case: 'file'; file: FileRequest }
  | { $case: 'portForward'; portForward: PortForwardRequest };

/** What each file operation needs of its path (mkdir accepts a folder that exists; an upload's target must not be one). */
const ROOT_USE = { list: 'folder', download: 'file', upload: 'new-file', mkdir: 'new-folder', sha256: 'file' } as const satisfies Record<FileRequest['op'], PathUse>;

export interface RemoteSessionsOptions extends ShellOptions {
  windowBytes?: number;
}

export class RemoteSessions {
  readonly shells: ShellSessions;
  readonly files: FileTransfers;
  readonly ports: PortForwarder;
  private readonly open = new Set<ChannelPeer>();

  constructor(config: RemoteConfig, options: RemoteSessionsOptions = {}) {
    this.shells = new ShellSessions(config.shell, options);
    this.files = new FileTransfers(config.files, options);
    this.ports = new PortForwarder(config.portForward, options);
  }

  /** Resolves if the request would be accepted now; rejects with the RemoteError it would get. */
  async check(request: ChannelOpen): Promise<void> {
    switch (request.$case) {
      case 'shell':
        this.shells.check(request.shell.operator);
        return;
      case 'file': {
        const f = request.file;
        await this.files.policy.resolveInRoots(f.path, ROOT_USE[f.op]);
        return;
      }
      case 'portForward':
        await this.ports.check(request.portForward.host, request.portForward.port);
        return;
      default:
        throw new RemoteError('protocol', `unknown channel kind ${JSON.stringify((request as { $case: unknown }).$case)}`);
    }
  }

  /** Serves one channel until it ends. Never throws: refusals reach the operator as error frames. */
  async serve(request: ChannelOpen, peer: ChannelPeer): Promise<void> {
    this.open.add(peer);
    try {
      switch (request.$case) {
        case 'shell':
          try {
            await this.shells.open(request.shell, peer).exited;
          } catch {
            // refused: open() already told the operator
          }
          return;
        case 'file':
          return await this.files.serve(request.file, peer);
        case 'portForward':
          return await this.ports.open(request.portForward, peer);
        default:
          refuse(peer, 'protocol', `unknown channel kind ${JSON.stringify((request as { $case: unknown }).$case)}`);
      }
    } finally {
      this.open.delete(peer);
    }
  }

  /** Number of channels being served. */
  get openChannels(): number {
    return this.open.size;
  }

  /** Ends every channel (agent shutdown, remote config changed). */
  async closeAll(reason: string): Promise<void> {
    for (const peer of this.open) peer.close(reason);
    await this.shells.closeAll(reason);
  }
}
