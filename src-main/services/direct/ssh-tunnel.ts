import { createServer, type Server, type Socket } from 'node:net';
import type { ClientChannel } from 'ssh2';
import { DirectError } from './direct-error';
import { describeTarget } from './direct-target';
import type { SshConnection } from './ssh-connection';

export interface TunnelOptions {
  /** local port on 127.0.0.1; 0 or absent = any free port */
  localPort?: number;
  /** where the device's sshd connects to, as seen from the device (often 127.0.0.1) */
  remoteHost: string;
  remotePort: number;
}

export interface TunnelStats {
  /** TCP connections open through the tunnel now */
  active: number;
  /** connections accepted since the tunnel opened */
  accepted: number;
  /** connections the device side refused or that broke */
  failed: number;
  bytesToDevice: number;
  bytesFromDevice: number;
}

// A local port forward (ssh -L) over the device's SSH connection: a listener
// on 127.0.0.1, and each accepted TCP connection gets its own direct-tcpip
// channel (forwardOut). A connection the device refuses or that breaks is
// closed alone; the tunnel keeps listening. The listener is closed by close()
// and when the SSH connection ends, so no port stays bound.
export class SshTunnel {
  readonly remoteHost: string;
  readonly remotePort: number;
  /** resolves once the tunnel is closed and its port is free */
  readonly closed: Promise<void>;
  private readonly sockets = new Set<Socket>();
  private readonly counts: TunnelStats = { active: 0, accepted: 0, failed: 0, bytesToDevice: 0, bytesFromDevice: 0 };
  private readonly errorListeners = new Set<(err: DirectError) => void>();
  private markClosed!: () => void;
  private closing = false;
  private readonly stopWatching: () => void;

  private constructor(
    private readonly conn: SshConnection,
    private readonly server: Server,
    readonly localPort: number,
    options: TunnelOptions,
  ) {
    this.remoteHost = options.remoteHost;
    this.remotePort = options.remotePort;
    this.closed = new Promise((r) => (this.markClosed = r));
    server.on('connection', (socket) => this.accept(socket));
    this.stopWatching = conn.onClose(() => void this.close());
  }

  static async open(conn: SshConnection, options: TunnelOptions): Promise<SshTunnel> {
    const want = options.localPort ?? 0;
    if (!Number.isInteger(want) || want < 0 || want > 65535) throw new DirectError('invalid-target', `local port ${want} must be 0 (any free) or a whole number up to 65535`);
    if (!Number.isInteger(options.remotePort) || options.remotePort < 1 || options.remotePort > 65535) {
      throw new DirectError('invalid-target', `device port ${options.remotePort} must be a whole number from 1 to 65535`);
    }
    if (!options.remoteHost?.trim()) throw new DirectError('invalid-target', 'the device-side host of a tunnel is required (127.0.0.1 for a service on the device itself)');
    conn.assertOpen('open a tunnel');
    // allowHalfOpen: a client that has sent everything (FIN) still gets the
    // whole answer, and its FIN reaches the device only after the data.
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: Error & { code?: string }) =>
        reject(
          new DirectError(
            'tunnel-failed',
            err.code === 'EADDRINUSE' ? `local port ${want} on 127.0.0.1 is already in use; choose another port or "any free"` : `cannot listen on 127.0.0.1:${want}: ${err.message}`,
            { cause: err },
          ),
        ),
      );
      server.listen(want, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as { port: number };
    return new SshTunnel(conn, server, port, options);
  }

  stats(): TunnelStats {
    return { ...this.counts, active: this.sockets.size };
  }

  /** Called for each connection that failed (the tunnel stays open); returns the remover. */
  onConnectionError(listener: (err: DirectError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Stops listening and ends every connection; resolves when the port is free. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.stopWatching();
      for (const s of this.sockets) s.destroy();
      this.server.close(() => this.markClosed());
    }
    return this.closed;
  }

  private accept(socket: Socket): void {
    this.counts.accepted++;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    if (this.conn.closed) {
      socket.destroy();
      return;
    }
    this.conn.client.forwardOut(socket.remoteAddress ?? '127.0.0.1', socket.remotePort ?? 0, this.remoteHost, this.remotePort, (err, channel) => {
      if (err) return this.fail(socket, err);
      if (socket.destroyed) return channel.close();
      this.pipe(socket, channel);
    });
  }

  private pipe(socket: Socket, channel: ClientChannel): void {
    socket.on('data', (d: Buffer) => (this.counts.bytesToDevice += d.length));
    channel.on('data', (d: Buffer) => (this.counts.bytesFromDevice += d.length));
    // pipe() keeps both directions flow-controlled (SSH window <-> TCP
    // buffers) and passes half-closes on: a client that ends its request
    // still gets the whole response.
    socket.pipe(channel);
    channel.pipe(socket);
    channel.on('error', (err: Error) => this.fail(socket, err));
    channel.once('close', () => socket.end());
    socket.once('close', (hadError) => {
      // After a normal end the channel may still hold data the SSH window
      // has not let out yet: close it only once that is sent.
      if (hadError || channel.writableFinished) channel.close();
      else channel.once('finish', () => channel.close());
    });
    socket.resume();
  }

  private fail(socket: Socket, err: Error): void {
    this.counts.failed++;
    socket.resetAndDestroy();
    const e = new DirectError('tunnel-failed', `a connection through the tunnel 127.0.0.1:${this.localPort} → ${this.remoteHost}:${this.remotePort} via ${describeTarget(this.conn.target)} failed: ${err.message} (the tunnel stays open)`, { cause: err });
    for (const l of this.errorListeners) l(e);
  }
}
