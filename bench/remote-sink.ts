import { connect, createServer, type Socket } from 'node:net';

// The TCP sink and source of the tunnel benchmarks: the sink counts what
// arrives, pushThrough() times N bytes through a forwarder into it; the
// source sends N bytes to whoever connects, pullThrough() times them. Counting is by total, not per
// connection: a forwarder may open a connection to the sink late for a probe
// that has already gone (ssh -L does), and that must not take the count.

export interface Sink {
  port: number;
  /** Bytes received by all connections so far. */
  readonly total: number;
  /** Resolves once `bytes` more have arrived (over all connections) after this call. */
  expect(bytes: number): Promise<void>;
  close(): void;
}

export async function startSink(): Promise<Sink> {
  let total = 0;
  let waiting: { until: number; done: () => void } | undefined;
  const server = createServer((s) => {
    s.on('data', (d: Buffer) => {
      total += d.length;
      if (waiting && total >= waiting.until) {
        waiting.done();
        waiting = undefined;
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    get total() {
      return total;
    },
    expect: (bytes) => new Promise<void>((done) => (waiting = { until: total + bytes, done })),
    close: () => server.close(),
  };
}

/** Pushes `bytes` into 127.0.0.1:port; ms from connect until the sink counted them all. */
export function pushThrough(sink: Sink, port: number, bytes: number, timeoutMs = 300_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const arrived = sink.expect(bytes);
    const t0 = performance.now();
    const stuck = setTimeout(() => reject(new Error(`the sink did not get ${bytes} bytes within ${timeoutMs / 1000} s`)), timeoutMs);
    const sock = connect(port, '127.0.0.1', () => sendBytes(sock, bytes));
    sock.on('error', reject);
    void arrived.then(() => {
      clearTimeout(stuck);
      sock.destroy();
      resolve(performance.now() - t0);
    });
  });
}

/** Writes `bytes` bytes (one repeated 256 KiB chunk) as fast as the socket takes them, then ends it. */
function sendBytes(socket: Socket, bytes: number): void {
  const chunk = Buffer.alloc(256 * 1024, 7);
  let sent = 0;
  const pump = (): void => {
    while (sent < bytes) {
      const piece = sent + chunk.length > bytes ? chunk.subarray(0, bytes - sent) : chunk;
      sent += piece.length;
      if (!socket.write(piece)) return void socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** A TCP server that sends `bytes` to every connection, then ends it. */
export async function startSource(bytes: number): Promise<{ port: number; close(): void }> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    sendBytes(s, bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

/** Connects to 127.0.0.1:port and reads until the other side ends; ms from connect until `bytes` arrived. */
export function pullThrough(port: number, bytes: number, timeoutMs = 300_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let got = 0;
    const stuck = setTimeout(() => reject(new Error(`got ${got} of ${bytes} bytes within ${timeoutMs / 1000} s`)), timeoutMs);
    const sock = connect(port, '127.0.0.1');
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (got < bytes) return;
      clearTimeout(stuck);
      sock.destroy();
      resolve(performance.now() - t0);
    });
    sock.on('error', reject);
    sock.on('close', () => got < bytes && reject(new Error(`closed after ${got} of ${bytes} bytes`)));
  });
}
