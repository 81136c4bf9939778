import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ConsoleEvent, RemoteTunnelInfo, RemoteTunnelSpec } from '../../common/console-api';
import type { HubSession } from '../connection/hub-session';
import { CreditGranter, CreditSender, TUNNEL_WINDOW_BYTES } from './credit';
import { openHubChannel, type HubChannel } from './hub-channel';
import { failureInfo, RemoteFailure } from './remote-failure';

interface Tunnel {
  info: RemoteTunnelInfo;
  server: Server;
  sockets: Set<Socket>;
  closed: Promise<void>;
}

// Local port-forward tunnels through the hub, like `ssh -L`: a listener on
// 127.0.0.1 and, for every accepted TCP connection, a channel of its own
// (portForward{host, port}) piped both ways with credit and half-close. A
// connection the device refuses is reset alone; the tunnel keeps listening.
// Closing the tunnel, or its device going offline, closes the listener and
// every connection, and resolves once the port is free.
export class HubTunnels {
  private readonly tunnels = new Map<string, Tunnel>();

  constructor(
    private readonly session: HubSession,
    private readonly emit: (e: ConsoleEvent) => void,
  ) {}

  async open(deviceId: string, spec: RemoteTunnelSpec): Promise<RemoteTunnelInfo> {
    const { localPort, host, port } = checkSpec(spec);
    const tunnelId = randomUUID();
    const sockets = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new RemoteFailure('local-port', err.code === 'EADDRINUSE' ? `127.0.0.1:${localPort} is already in use on this computer: pick another port or "any free"` : `cannot listen on 127.0.0.1:${localPort}: ${err.message}`)),
      );
      server.listen(localPort, '127.0.0.1', () => resolve());
    });
    const info: RemoteTunnelInfo = { tunnelId, deviceId, via: 'hub', localPort: (server.address() as AddressInfo).port, host, port, active: 0, accepted: 0, failed: 0, bytesIn: 0, bytesOut: 0 };
    const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
    const tunnel: Tunnel = { info, server, sockets, closed };
    this.tunnels.set(tunnelId, tunnel);
    server.on('connection', (socket) => this.serve(tunnel, socket));
    return { ...info };
  }

  list(): RemoteTunnelInfo[] {
    return [...this.tunnels.values()].map((t) => ({ ...t.info }));
  }

  async close(tunnelId: string, reason = 'closed by the operator'): Promise<void> {
    const t = this.tunnels.get(tunnelId);
    if (!t) return;
    this.tunnels.delete(tunnelId);
    t.server.close();
    for (const s of t.sockets) s.destroy();
    await t.closed;
    this.emit({ type: 'remote-tunnel-closed', tunnelId, reason });
  }

  /** Closes the tunnels of devices that went offline. */
  async closeOffline(isOnline: (deviceId: string) => boolean): Promise<void> {
    const gone = [...this.tunnels.values()].filter((t) => !isOnline(t.info.deviceId));
    await Promise.all(gone.map((t) => this.close(t.info.tunnelId, `${t.info.deviceId} went offline`)));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.tunnels.keys()].map((id) => this.close(id, 'console closing')));
  }

  private serve(t: Tunnel, socket: Socket): void {
    t.sockets.add(socket);
    t.info.accepted++;
    t.info.active++;
    this.changed(t);
    socket.on('error', () => undefined); // ends through 'close'
    socket.once('close', () => {
      t.sockets.delete(socket);
      t.info.active--;
      this.changed(t);
    });
    openHubChannel(this.session, t.info.deviceId, { kind: { $case: 'portForward', portForward: { host: t.info.host, port: t.info.port } } }).then(
      (channel) => {
        if (socket.destroyed || !this.tunnels.has(t.info.tunnelId)) return channel.close('the local connection ended');
        pipe(t, socket, channel, (err) => this.failed(t, err));
      },
      (err) => {
        socket.destroy();
        this.failed(t, err);
      },
    );
  }

  private failed(t: Tunnel, err: unknown): void {
    t.info.failed++;
    this.emit({ type: 'remote-tunnel-error', tunnelId: t.info.tunnelId, error: failureInfo(err) });
    this.changed(t);
  }

  private changed(t: Tunnel): void {
    if (this.tunnels.has(t.info.tunnelId)) this.emit({ type: 'remote-tunnel', tunnel: { ...t.info } });
  }
}

function pipe(t: Tunnel, socket: Socket, channel: HubChannel, onError: (err: RemoteFailure) => void): void {
  const sender = new CreditSender((chunk) => channel.send({ $case: 'data', data: chunk }));
  const granter = new CreditGranter((bytes) => channel.send({ $case: 'window', window: { bytes } }), TUNNEL_WINDOW_BYTES);
  let localEnded = false;
  let remoteEnded = false;
  const maybeClose = (): void => {
    if (localEnded && remoteEnded) channel.close('done');
  };
  socket.on('data', (chunk: Buffer) => {
    t.info.bytesOut += chunk.byteLength;
    if (!sender.write(chunk)) {
      socket.pause();
      void sender.drained().then(() => socket.resume());
    }
  });
  socket.on('end', () => {
    void sender.drained().then(() => {
      if (channel.closed) return;
      channel.send({ $case: 'eof', eof: {} });
      localEnded = true;
      maybeClose();
    });
  });
  socket.once('close', () => channel.close('the local connection closed'));
  channel.onFrame((frame) => {
    try {
      if (frame.$case === 'data') {
        granter.received(frame.data.byteLength);
        t.info.bytesIn += frame.data.byteLength;
        const n = frame.data.byteLength;
        socket.write(frame.data, () => granter.consumed(n));
      } else if (frame.$case === 'window') sender.grant(frame.window.bytes);
      else if (frame.$case === 'eof') {
        remoteEnded = true;
        socket.end();
        maybeClose();
      }
    } catch (err) {
      channel.close(`protocol: ${(err as Error).message}`);
    }
  });
  channel.onClose((_reason, error) => {
    sender.dispose();
    if (error) {
      socket.destroy();
      onError(error);
    } else socket.end();
  });
  granter.start();
  socket.resume();
}

function checkSpec(spec: RemoteTunnelSpec): { localPort: number; host: string; port: number } {
  const localPort = spec?.localPort ?? 0;
  if (!Number.isInteger(localPort) || localPort < 0 || localPort > 65535) throw new RemoteFailure('protocol', `local port must be 0 (any free) or 1-65535, got ${localPort}`);
  if (typeof spec.host !== 'string' || !spec.host.trim()) throw new RemoteFailure('protocol', 'give the host as the device sees it, e.g. 127.0.0.1');
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) throw new RemoteFailure('protocol', `device port must be 1-65535, got ${spec.port}`);
  return { localPort, host: spec.host.trim(), port: spec.port };
}
