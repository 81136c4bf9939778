import type { IPty } from 'node-pty';
import { readFileSync, writeSync } from 'node:fs';

// Operator input into a pty's master side, without a thread-pool round trip
// for a keystroke. node-pty's write() queues every chunk and hands it to
// fs.write, i.e. to a libuv worker thread that must wake up, write and wake
// the event loop again: measured in the keystroke echo path (strace of the
// agent) that hop was most of the agent's share of the round trip. The
// master is non-blocking, so when node-pty has nothing queued we write at
// once ourselves; whatever the kernel does not take (EAGAIN, a short write)
// goes to node-pty's queue, which keeps the order and retries.

/** O_NONBLOCK in /proc/self/fdinfo's octal `flags` (Linux, all architectures we run on). */
const O_NONBLOCK = 0o4000;

export class PtyInput {
  private readonly fd: number | undefined;
  /** node-pty closed the master: its fd number may already belong to another file. */
  private closed = false;

  constructor(private readonly pty: IPty) {
    this.fd = directFd(pty);
    const socket = (pty as unknown as { _socket?: { once?: (event: string, listener: () => void) => void } })._socket;
    socket?.once?.('close', () => (this.closed = true));
    // Input after the process exited has no reader; node-pty's exit can come
    // before its socket's close, and the master may close meanwhile.
    pty.onExit(() => (this.closed = true));
  }

  /** Bytes handed to node-pty that the kernel has not taken yet (its queue). */
  get queuedChunks(): number {
    const queue = (this.pty as unknown as { _writeStream?: { _writeQueue?: unknown[] } })._writeStream?._writeQueue;
    return Array.isArray(queue) ? queue.length : 0;
  }

  /** Writes `bytes`; true when the kernel took them all now (or the pty is gone: dropped), false when (some are) queued in node-pty. */
  write(bytes: Uint8Array): boolean {
    if (bytes.byteLength === 0 || this.closed) return true;
    let written = 0;
    if (this.fd !== undefined && this.queuedChunks === 0) {
      try {
        written = writeSync(this.fd, bytes);
      } catch {
        // EAGAIN (the pty buffer is full) or a pty going away: node-pty's queue handles both as before.
      }
      if (written === bytes.byteLength) return true;
    }
    // node-pty copies what it queues, so a view of the caller's buffer is fine.
    this.pty.write(Buffer.from(bytes.buffer, bytes.byteOffset + written, bytes.byteLength - written));
    return false;
  }
}

/** The master fd when it is non-blocking (a blocking write would stall the agent); else undefined. */
function directFd(pty: IPty): number | undefined {
  const fd = (pty as unknown as { fd?: unknown }).fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return flags && (parseInt(flags[1], 8) & O_NONBLOCK) !== 0 ? fd : undefined;
  } catch {
    return undefined;
  }
}
