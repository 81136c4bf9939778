import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { CreditGate } from '../../proto/artifact-wire';

// Sends bytes [start, end) of a file into a socket through two buffers used
// in turn: one is being sent (in pieces, as the device grants credit) while
// the next is read. A read stream would
// allocate a new buffer per read — about a GiB of short-lived memory per GiB
// sent, which kept the hub's garbage collector busy for about a second of
// CPU per GiB. Each read is no bigger than the receiver's credit, so the
// file is read only as fast as the device consumes it, whatever its size,
// and no more than its window is ever in flight.

export async function sendFileRange(socket: Writable, credit: CreditGate, path: string, start: number, end: number, chunkBytes = 1024 * 1024): Promise<void> {
  const fh = await open(path, 'r');
  const writes = new SocketWrites(socket);
  try {
    const buffers = [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)];
    // The last write from each buffer: its callback frees the buffer for the next read.
    const lastWrite: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let readPos = start;
    const read = (buffer: Buffer): Promise<number> => {
      const n = Math.min(chunkBytes, end - readPos);
      const reading = readFully(fh, buffer, n, readPos, path);
      readPos += n;
      return reading;
    };
    let next: Promise<number> | undefined = start < end ? read(buffers[0]) : undefined;
    for (let turn = 0; next; turn++) {
      const buffer = buffers[turn % 2];
      const n = await next;
      // Read the next part while this one waits for credit: the file read
      // stays out of the loop of credit and bytes that paces the download.
      const other = (turn + 1) % 2;
      next = readPos < end ? lastWrite[other].then(() => read(buffers[other])) : undefined;
      next?.catch(() => undefined); // awaited at the next turn
      for (let at = 0; at < n; ) {
        const piece = Math.min(await credit.room(), n - at);
        credit.take(piece);
        const written = writes.write(buffer.subarray(at, at + piece));
        written.catch(() => undefined); // awaited before the buffer is reused, and at the end
        lastWrite[turn % 2] = written;
        at += piece;
      }
    }
    await Promise.all(lastWrite);
    await new Promise<void>((resolve) => socket.end(resolve));
  } finally {
    writes.stop();
    await fh.close();
  }
}

async function readFully(fh: FileHandle, buffer: Buffer, length: number, position: number, path: string): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buffer, got, length - got, position + got);
    if (bytesRead === 0) throw new Error(`${path} ends at byte ${position + got}, before ${position + length}`);
    got += bytesRead;
  }
  return got;
}

/** Writes whose promises resolve once the socket has taken the bytes (their buffer may be reused) and reject when it closes first. */
class SocketWrites {
  private readonly pending = new Set<(err: Error) => void>();
  private readonly onClose = (): void => {
    for (const reject of this.pending) reject(new Error('the download connection closed'));
    this.pending.clear();
  };

  constructor(private readonly socket: Writable) {
    socket.once('close', this.onClose);
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) return reject(new Error('the download connection is closed'));
      this.pending.add(reject);
      this.socket.write(data, (err) => {
        this.pending.delete(reject);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  stop(): void {
    this.socket.off('close', this.onClose);
  }
}
