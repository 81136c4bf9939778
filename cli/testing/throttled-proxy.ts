import { createServer, connect, type Socket } from 'node:net';

// A TCP proxy on 127.0.0.1 in front of the hub for tests of interrupted
// copies: it passes bytes at a bounded rate (so a test can act in the middle
// of a transfer) and can cut every connection at once (a network cut: the
// sockets are destroyed, no gRPC goodbye).

export interface ThrottledProxy {
  /** host:port to give fleetctl as --hub */
  address: string;
  /** Destroys every open connection. */
  cut(): void;
  close(): Promise<void>;
}

export async function startThrottledProxy(upstreamPort: number, bytesPerSecond: number): Promise<ThrottledProxy> {
  const sockets = new Set<Socket>();
  const pipe = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      from.pause();
      to.write(chunk);
      setTimeout(() => from.resume(), (chunk.byteLength / bytesPerSecond) * 1000);
    });
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
    from.on('close', () => to.destroy());
  };
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cut = (): void => {
    for (const s of sockets) s.destroy();
  };
  return {
    address: `127.0.0.1:${port}`,
    cut,
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
