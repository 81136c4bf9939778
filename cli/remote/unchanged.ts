import { sha256File } from '../../proto/file-sha256';
import { ChannelRefused, openChannel, type HubLink } from './channel-client';

// `fleetctl cp -r` run again after a cut or a failure must not send again
// what already arrived whole (each file resumes on its own; this is about
// the files before it). A file counts as already there when the other side
// holds a regular file of the same size and permission bits (upward: or the
// bits the device forces on every upload) AND the same sha256, hashed on
// both sides at once — a file changed without changing
// its size is still copied. A different size costs no hashing at all.
// The device's hash is the file operation `sha256`: the device hashes the
// file and sends none of it (the hub audits it as such, not as a download).
// A device or hub from before that operation refuses it, and the file is
// simply copied.

export interface FileShape {
  size: number;
  /** permission bits (the rest of st_mode is ignored) */
  mode: number;
}

/**
 * The sha256 both sides share, or undefined when the file must be copied.
 * `direction` is the copy's: a download gives the local file the device's
 * mode; an upload gives the device's file ours, or the mode the device
 * forces on every upload (remote.files.uploadMode, told in the sha256
 * reply), so a device that forces one is not sent each file again.
 */
export async function unchangedSha256(link: HubLink, deviceId: string, localPath: string, remotePath: string, local: FileShape, remote: FileShape | undefined, direction: 'upload' | 'download'): Promise<string | undefined> {
  if (!remote || remote.size !== local.size) return undefined;
  const sameMode = (remote.mode & 0o777) === (local.mode & 0o777);
  if (!sameMode && direction === 'download') return undefined;
  // Same mode: both sides hash at once. Another mode is as good only when the device forces the one it has.
  const ours = sameMode ? sha256File(localPath).catch(() => undefined) : undefined;
  const theirs = await deviceSha256(link, deviceId, remotePath, local.size);
  const modeKept = sameMode || (theirs?.uploadMode !== undefined && (theirs.uploadMode & 0o777) === (remote.mode & 0o777));
  if (!theirs || !modeKept) return undefined;
  const mine = await (ours ?? sha256File(localPath).catch(() => undefined));
  return mine === theirs.sha256 ? mine : undefined;
}

/** The device file's sha256 (and the mode the device forces on uploads, if any) when it is `size` bytes long; undefined when it is not, or cannot be read. */
export async function deviceSha256(link: HubLink, deviceId: string, path: string, size: number): Promise<{ sha256: string; uploadMode?: number } | undefined> {
  let channel;
  try {
    channel = await openChannel(link, deviceId, { kind: { $case: 'file', file: { op: 'sha256', path } } }, { grant: false });
  } catch (err) {
    if (err instanceof ChannelRefused) return undefined;
    throw err;
  }
  let sameSize = false;
  let uploadMode: number | undefined;
  let sha256: string | undefined;
  channel.onFrame((frame) => {
    if (frame.$case === 'file') {
      sameSize = frame.file.size === size;
      uploadMode = frame.file.uploadMode;
    } else if (frame.$case === 'eof') sha256 = frame.eof.sha256;
  });
  const end = await channel.ended;
  return !end.error && sameSize && sha256 ? { sha256, ...(uploadMode !== undefined ? { uploadMode } : {}) } : undefined;
}
