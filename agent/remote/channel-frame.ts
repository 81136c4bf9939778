import type { RemoteErrorCode } from './remote-error';

// The frames of one remote session (shell, file transfer, port-forward
// connection), independent of the transport. The shape is ts-proto's
// `oneof=unions` form (`{ $case, <case>: value }`) so a future
// `ChannelMessage { oneof frame { ... } }` in proto/fleet/v1 maps to it 1:1.
//
// Flow control is credit based and symmetric: each side grants the other a
// window of bytes (`window` frames, initial grant included); only `data`
// bytes count against it. A sender never has more than the granted credit
// in flight, so a slow reader slows the writer instead of filling buffers.

export interface FileInfo {
  /** Total size of the file in bytes. */
  size: number;
  /** Permission bits (0o777 mask). */
  mode: number;
  mtimeMs: number;
  /** Where the data that follows starts (download) or should start (upload resume). */
  offset: number;
  /** sha256 replies: the permission bits every upload gets (remote.files.uploadMode), when set. */
  uploadMode?: number;
}

export interface DirEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: number;
  mtimeMs: number;
}

export interface DirListing {
  /** The folder's real path. */
  path: string;
  entries: DirEntry[];
  /** Pass back as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
}

export type ChannelFrame =
  | { $case: 'data'; data: Uint8Array }
  /** A command's standard error (command sessions only; counts against the same window as data). */
  | { $case: 'stderr'; stderr: Uint8Array }
  | { $case: 'resize'; resize: { cols: number; rows: number } }
  /** The sender of this frame grants the receiver `bytes` more of data credit. */
  | { $case: 'window'; window: { bytes: number } }
  /** The shell ended: its exit code, or the signal that killed it. */
  | { $case: 'exit'; exit: { code: number; signal?: string } }
  /** Wire form of `ChannelPeer.close(reason)`; transports never hand it to onFrame. */
  | { $case: 'close'; close: { reason: string } }
  | { $case: 'error'; error: { code: RemoteErrorCode; message: string } }
  /** File transfer: the file's facts (download) / the accepted resume offset (upload). */
  | { $case: 'file'; file: FileInfo }
  /** End of this side's data: with the sha256 of the whole file for transfers; a TCP half-close for port forwards. */
  | { $case: 'eof'; eof: { sha256?: string } }
  /** File transfer: one page of a folder listing. */
  | { $case: 'listing'; listing: DirListing };

/** One end of a channel, as a session sees it. */
export interface ChannelPeer {
  /**
   * Queues a frame for the other side. Never blocks: data is bounded by the
   * credit window. The frame's bytes are the caller's again once send
   * returns (the stream peer serializes them at once, the in-memory pair
   * copies them), so a reader may reuse its buffer (port-forward.ts).
   */
  send(frame: ChannelFrame): void;
  /** Frames from the other side, in order; frames that arrive before the first listener are kept for it. Returns an unsubscribe function. */
  onFrame(listener: (frame: ChannelFrame) => void): () => void;
  /** Called once when the channel ends, whichever side ended it (frames sent before are delivered first). */
  onClose(listener: (reason: string) => void): () => void;
  /** Ends the channel; the reason reaches the other side. Idempotent. */
  close(reason: string): void;
  readonly closed: boolean;
}

/** Sends a refusal and ends the channel. */
export function refuse(peer: ChannelPeer, code: RemoteErrorCode, message: string): void {
  if (peer.closed) return;
  peer.send({ $case: 'error', error: { code, message } });
  peer.close(`${code}: ${message}`);
}
