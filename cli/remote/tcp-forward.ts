import { createServer, type Server, type Socket } from 'node:net';
import { messagePool } from '../../proto/buffer-pool';
import { readInto } from '../../proto/read-into';
import { CliError, EXIT } from '../cli-error';
import { ChannelRefused, openChannel, type HubLink, type RemoteChannel } from './channel-client';
import { TUNNEL_WINDOW_BYTES } from './credit';
import type { ForwardSpec } from './forward-spec';
import { refusalError } from './refusal';

// A local TCP listener on 127.0.0.1 whose every accepted connection gets its
// own channel to HOST:PORT on the device side. One failing connection is
// closed alone and logged; the listener stops (and `done` settles with the
// reason) only on close() or when the hub says the device is gone or the
// operator may not forward at all.

/**
 * A local connection's reads, and the data frames they become: 256 KiB, not
 * Node's own 64 KiB. Each frame is a step for the hub (a frame read, a
 * socket write, their callbacks) and the hub is the busiest of the three
 * processes in a tunnel; in five alternating pairs of 2 x 1 GiB runs
 * (bench/remote-tunnel.ts) 256 KiB gave 0.95-1.13x `ssh -L` (mean 1.05x)
 * and 64 KiB 0.84-0.92x (mean 0.89x), the hub's CPU per GiB 2.2-2.5 s
 * against 2.4-2.9 s. A read returns what the client has sent, so small
 * requests stay small frames.
 */
const READ_BYTES = 256 * 1024;

/** Refusals that concern the whole tunnel, not one connection. */
const FATAL = new Set(['forbidden', 'device-offline', 'disabled']);

export interface Forwarder {
  /** the bound local port */
  readonly port: number;
  /** open connections */
  readonly connections: number;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
  /** Settles when the listener stopped: resolves after close(), rejects with the reason it stopped by itself. */
  readonly done: Promise<void>;
}

export async function startForward(link: HubLink, deviceId: string, spec: ForwardSpec, log: (line: string) => void): Promise<Forwarder> {
  const open = new Set<{ socket: Socket; channel?: RemoteChannel }>();
  let stop: (err?: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => (stop = (err) => (err ? reject(err) : resolve())));
  done.catch(() => undefined);
  let closing = false;

  // Half-open allowed: a client that shuts down its sending side (a request
  // then FIN) still gets the reply; without it Node ends our side at once and
  // closes the socket while its last bytes may still wait for credit.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const entry: { socket: Socket; channel?: RemoteChannel } = { socket };
    open.add(entry);
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.pause();
    socket.on('error', () => undefined);
    socket.once('close', (hadError) => {
      open.delete(entry);
      // A clean close (both sides ended) leaves the channel to finish its last bytes and eofs; the device then closes it.
      if (hadError || !socket.readableEnded || !socket.writableFinished) entry.channel?.close('the local connection closed');
    });
    openChannel(link, deviceId, { kind: { $case: 'portForward', portForward: { host: spec.host, port: spec.port } } }, { maxFrameBytes: READ_BYTES, windowBytes: TUNNEL_WINDOW_BYTES }).then(
      (channel) => {
        if (socket.destroyed) return channel.close('the local connection closed');
        entry.channel = channel;
        bridge(socket, channel, (line) => log(`connection from ${from}: ${line}`));
      },
      (err: Error) => {
        socket.destroy();
        const cli = err instanceof ChannelRefused ? refusalError(err.code, err.message) : err;
        log(`connection from ${from} refused: ${cli.message}`);
        if (err instanceof ChannelRefused && FATAL.has(err.code)) void shutdown(cli);
        else if (!(err instanceof ChannelRefused)) void shutdown(cli);
      },
    );
  });

  async function shutdown(err?: Error): Promise<void> {
    if (closing) return;
    closing = true;
    for (const { socket, channel } of open) {
      channel?.close(err ? err.message : 'the tunnel was closed');
      socket.destroy();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    stop(err);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new CliError(`cannot listen on 127.0.0.1:${spec.localPort}: ${err.code === 'EADDRINUSE' ? 'the port is in use; pick another or 0 for any free port' : err.message}`, EXIT.failed)),
    );
    server.listen(spec.localPort, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    get connections() {
      return open.size;
    },
    close: () => shutdown(),
    done,
  };
}

/** Bytes both ways with credit; half-closes travel as eof, after the data before them. */
function bridge(socket: Socket, channel: RemoteChannel, log: (line: string) => void): void {
  channel.onFrame((frame) => {
    if (frame.$case === 'data') {
      const n = frame.data.byteLength;
      socket.write(frame.data, () => {
        channel.consumed(n);
        messagePool.release(frame.data);
      });
    } else if (frame.$case === 'eof') socket.end();
    else if (frame.$case === 'error') log(refusalError(frame.error.code, frame.error.message).message);
  });
  // One chunk at a time: the socket is paused while its chunk waits for credit.
  // The eof follows the last chunk, which may still be waiting for credit.
  // Reads land in one buffer of this connection's (read-into.ts) as soon as
  // no chunk Node read already waits (one usually does: the client wrote
  // while the channel opened); a chunk is read only while the socket is not
  // paused, so the last one stays intact until channel.write has copied it
  // into frames.
  let writing: Promise<boolean> = Promise.resolve(true);
  let ownBuffer = false;
  const onChunk = (chunk: Buffer): void => {
    socket.pause();
    writing = channel.write(chunk);
    void writing.then((ok) => {
      if (!ok) return socket.destroy();
      if (!ownBuffer && readInto(socket, Buffer.allocUnsafeSlow(READ_BYTES), onChunk)) {
        ownBuffer = true;
        socket.off('data', onChunk);
      }
      socket.resume();
    });
  };
  socket.on('data', onChunk);
  const sendEof = (): void =>
    void writing.then((ok) => {
      if (ok && !channel.isEnded) channel.send({ $case: 'eof', eof: {} });
    });
  // The client may have half-closed before the channel opened.
  if (socket.readableEnded) sendEof();
  else socket.once('end', sendEof);
  void channel.ended.then((end) => {
    if (end.error) return void socket.destroy();
    // Both sides ended: let what we wrote reach the client, then let go.
    socket.end(() => socket.destroy());
  });
  socket.resume();
}
