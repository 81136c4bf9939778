import { connect, createServer, type Socket } from 'node:net';

// A TCP proxy on 127.0.0.1 that holds every chunk `oneWayMs` before passing
// it on, both ways: a long link (a device on a cellular or satellite
// network, a hub across an ocean) on loopback. Bandwidth is not limited, so
// what it shows is what a protocol's windows allow at that round trip.
// Bytes in flight are what the protocols on top let out before an answer;
// the proxy keeps them in timers, as a long cable keeps them in the wire.

export interface DelayProxy {
  port: number;
  close(): Promise<void>;
}

export async function startDelayProxy(upstreamPort: number, oneWayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const pipe = (from: Socket, to: Socket): void => {
    // Timers of the same delay fire in the order they were set: the bytes keep their order.
    from.on('data', (chunk: Buffer) => setTimeout(() => to.destroyed || to.write(chunk), oneWayMs));
    from.on('end', () => setTimeout(() => to.end(), oneWayMs));
    from.on('error', () => to.destroy());
    // Closed without an end (reset): the other side goes too, once the bytes before it arrived.
    from.on('close', () => from.readableEnded || setTimeout(() => to.destroy(), oneWayMs));
  };
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
