import { open, type FileHandle } from 'node:fs/promises';
import type { Http2Stream } from 'node:http2';

// Sends bytes [start, end) of a file into an HTTP/2 stream through two
// buffers used in turn: one is being sent while the next is read. A read
// stream would allocate a new 1 MiB buffer per read — about a GiB of short-
// lived memory per GiB sent, which kept the hub's garbage collector busy
// for about a second of CPU per GiB. A write's callback comes once HTTP/2
// has taken its bytes (so its buffer is free again), and that waits for the
// device's flow-control window: the file is read only as fast as the device
// consumes it, whatever the artifact size.

export async function sendFileRange(stream: Http2Stream, path: string, start: number, end: number, chunkBytes = 1024 * 1024): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const buffers = [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)];
    let sending: Promise<void> = Promise.resolve();
    let pos = start;
    for (let turn = 0; pos < end; turn++) {
      // The write that used this buffer was awaited before the last one began.
      const buffer = buffers[turn % 2];
      const n = await readFully(fh, buffer, Math.min(chunkBytes, end - pos), pos, path);
      await sending;
      sending = write(stream, buffer.subarray(0, n));
      // Awaited at the next turn; a device gone meanwhile is not an unhandled rejection.
      sending.catch(() => undefined);
      pos += n;
    }
    await sending;
    await new Promise<void>((resolve) => stream.end(resolve));
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

/** Resolves once HTTP/2 has taken the bytes; rejects when the stream closes first. */
function write(stream: Http2Stream, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed) return reject(new Error('the download stream is closed'));
    const onClose = (): void => reject(new Error('the download stream closed'));
    stream.once('close', onClose);
    stream.write(data, (err) => {
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}
