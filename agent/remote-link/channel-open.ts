import type { ChannelOpen as ProtoChannelOpen, FileOpen } from '../../proto/gen/fleet/v1/channel';
import type { FileRequest } from '../remote/file-transfer/file-transfers';
import type { ChannelOpen } from '../remote/remote-sessions';
import { RemoteError } from '../remote/remote-error';

// The open request of a channel as the hub sends it (proto ChannelOpen) →
// what RemoteSessions takes. Shell and port-forward are the same fields; a
// file request's `op` picks which of FileOpen's optional fields it uses.
// Anything malformed is a `protocol` refusal, answered on the control stream.

export function channelOpenFromProto(open: ProtoChannelOpen | undefined): ChannelOpen {
  const kind = open?.kind;
  switch (kind?.$case) {
    case 'shell': {
      const { operator, cols, rows, command } = kind.shell;
      return { $case: 'shell', shell: { operator, ...(cols ? { cols } : {}), ...(rows ? { rows } : {}), ...(command !== undefined ? { command } : {}) } };
    }
    case 'file':
      return { $case: 'file', file: fileRequest(kind.file) };
    case 'portForward':
      return { $case: 'portForward', portForward: { host: kind.portForward.host, port: kind.portForward.port } };
    default:
      throw new RemoteError('protocol', 'the channel request names no kind (shell, file or portForward)');
  }
}

function fileRequest(f: FileOpen): FileRequest {
  switch (f.op) {
    case 'list':
      return { op: 'list', path: f.path, ...(f.cursor !== undefined ? { cursor: f.cursor } : {}), ...(f.limit !== undefined ? { limit: f.limit } : {}) };
    case 'download':
      return { op: 'download', path: f.path, ...(f.offset !== undefined ? { offset: f.offset } : {}) };
    case 'upload':
      if (f.size === undefined) throw new RemoteError('protocol', `upload of ${f.path} announces no size: set FileOpen.size`);
      return {
        op: 'upload',
        path: f.path,
        size: f.size,
        ...(f.mode !== undefined ? { mode: f.mode } : {}),
        ...(f.transferId !== undefined ? { transferId: f.transferId } : {}),
      };
    case 'mkdir':
      return { op: 'mkdir', path: f.path, ...(f.mode !== undefined ? { mode: f.mode } : {}) };
    case 'sha256':
      return { op: 'sha256', path: f.path };
    default:
      throw new RemoteError('protocol', `unknown file operation ${JSON.stringify(f.op)} (list, download, upload, mkdir or sha256)`);
  }
}
