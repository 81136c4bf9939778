import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { CreditGate } from '../../proto/artifact-wire';

// Sends bytes [start, end) of a file into a socket through two buffers used
// in turn: one is being sent while the next is read. A read stream would
// allocate a new buffer per read — about a GiB of short-lived memory per GiB
// sent, which kept the hub's garbage collector busy for about a second of
// CPU per GiB. Each read is no bigger than the receiver's credit, so the
// file is read only as fast as the device consumes it, whatever its size,
// and no more than its window is ever in flight.

export async function sendFileRange(socket: Writable, credit: CreditGate, path: string, start: number, end: number, chunkBytes = 1024 * 1024): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const buffers = [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)];
    let sending: Promise<void> = Promise.resolve();
    let pos = start;
    for (let turn = 0; pos < end; turn++) {
      // The write that used this buffer was awaited before the last one began.
      const buffer = buffers[turn % 2];
      const allowed = await credit.room();
      const n = await readFully(fh, buffer, Math.min(chunkBytes, end - pos, allowed), pos, path);
      credit.take(n);
      await sending;
      sending = write(socket, buffer.subarray(0, n));
      // Awaited at the next turn; a device gone meanwhile is not an unhandled rejection.
      sending.catch(() => undefined);
      pos += n;
    }
    await sending;
    await new Promise<void>((resolve) => socket.end(resolve));
  } finally {
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

/** Resolves once the socket has taken the bytes (the buffer may be reused); rejects when it closes first. */
function write(socket: Writable, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('the download connection is closed'));
    const onClose = (): void => reject(new Error('the download connection closed'));
    socket.once('close', onClose);
    socket.write(data, (err) => {
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}
