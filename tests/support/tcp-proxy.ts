import { connect, createServer, type Socket } from 'node:net';

// A TCP proxy on 127.0.0.1 for fault tests: it forwards every connection to a
// target, counts the bytes each way, and can cut every open connection at once
// (both sockets reset), the way a dropped link or a NAT timeout looks to the
// peers that notice it. New connections are accepted again right after a cut.

export interface TcpProxy {
  /** "127.0.0.1:PORT", to give to the client instead of the target */
  address: string;
  port: number;
  /** bytes forwarded from the target to clients (e.g. hub -> agent) */
  readonly bytesDown: number;
  /** bytes forwarded from clients to the target */
  readonly bytesUp: number;
  /** connections accepted so far */
  readonly accepted: number;
  /** connections open now */
  readonly open: number;
  /** cuts (by cut() or scheduled) that found at least one open connection */
  readonly cuts: number;
  /** Resets every open connection on both sides; returns how many were cut. */
  cut(): number;
  /**
   * Cuts every open connection the moment bytesDown reaches each threshold
   * (checked on every forwarded chunk, so a cut lands within one chunk).
   */
  scheduleCuts(bytesDownThresholds: readonly number[]): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let bytesDown = 0;
  let bytesUp = 0;
  let accepted = 0;
  let cuts = 0;
  let schedule: number[] = [];
  const cutAll = (): number => {
    const n = pairs.size;
    for (const { client, upstream } of [...pairs]) {
      // RST rather than FIN: the peers see ECONNRESET at once, and nothing
      // still buffered in the proxy is delivered.
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
    if (n) cuts++;
    return n;
  };
  const countDown = (n: number): void => {
    bytesDown += n;
    while (schedule.length && bytesDown >= schedule[0]) {
      schedule.shift();
      cutAll();
    }
  };

  const server = createServer((client) => {
    accepted++;
    const upstream = connect(target.port, target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    // Either side ending or failing ends both: a half-dead pair would hang the client.
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
      s.setNoDelay(true);
    }
    forward(upstream, client, countDown);
    forward(client, upstream, (n) => (bytesUp += n));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  return {
    address: `127.0.0.1:${port}`,
    port,
    get bytesDown() {
      return bytesDown;
    },
    get bytesUp() {
      return bytesUp;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    get cuts() {
      return cuts;
    },
    cut: cutAll,
    scheduleCuts(thresholds) {
      schedule = [...thresholds].sort((a, b) => a - b);
    },
    close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Copies from → to with backpressure, counting what was handed to `to`. */
function forward(from: Socket, to: Socket, count: (n: number) => void): void {
  from.on('data', (chunk: Buffer) => {
    const ok = to.write(chunk);
    // Counted after the write, so a scheduled cut falls after this chunk.
    count(chunk.length);
    if (!ok) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
}
