import { Socket, type SocketConstructorOpts } from 'node:net';
import { messagePool } from '../../proto/buffer-pool';
import type { ChannelFrame, ChannelPeer } from './channel-frame';
import { refuse } from './channel-frame';
import { CreditGranter, CreditSender, BULK_WINDOW_BYTES } from './flow-control';
import { checkPortTarget, dnsResolver, type AllowedTarget, type Resolver } from './port-allow';
import type { PortForwardConfig } from './remote-config';
import { RemoteError } from './remote-error';

// One forwarded TCP connection per channel: a tunnel with many connections
// is many channels, so one reset or refused connection ends only its own.
// target → operator: socket reads are paused while the operator's credit is
// spent (TCP then slows the target). operator → target: credit is granted
// back only when the socket has flushed the bytes to the kernel.
// Half-close travels as `eof` both ways (HTTP/1.0, `nc -N`, …).

export const CONNECT_TIMEOUT_MS = 10_000;

export interface PortForwardRequest {
  host: string;
  port: number;
}

export interface PortForwardOptions {
  windowBytes?: number;
  connectTimeoutMs?: number;
  resolve?: Resolver;
}

export class PortForwarder {
  constructor(
    private readonly config: PortForwardConfig,
    private readonly options: PortForwardOptions = {},
  ) {}

  /** The refusal a request would get (disabled, not-allowed), or where it would connect. */
  check(host: string, port: number): Promise<AllowedTarget> {
    return checkPortTarget(this.config, host, port, this.options.resolve ?? dnsResolver);
  }

  /** Connects and relays until either side ends. Never throws: refusals and failures become error frames. */
  async open(request: PortForwardRequest, peer: ChannelPeer): Promise<void> {
    let target: AllowedTarget;
    try {
      target = await this.check(request.host, request.port);
    } catch (err) {
      const e = err instanceof RemoteError ? err : new RemoteError('internal', (err as Error).message);
      refuse(peer, e.code, e.message);
      return;
    }
    if (peer.closed) return;
    await relay(target, `${request.host}:${request.port}`, peer, this.options);
  }
}

/** Reads from the target, and the largest data frame sent: see relay(). */
const READ_BYTES = 256 * 1024;

function relay(target: AllowedTarget, shown: string, peer: ChannelPeer, options: PortForwardOptions): Promise<void> {
  return new Promise((resolve) => {
    // Reads land in a buffer of this connection's, 256 KiB at a time, and go
    // out as frames of up to that size (fleetctl's tunnels send the same):
    // each frame is a step for the hub. Bytes the credit holds back stay in
    // this buffer while the socket is paused (pausing stops the reads at
    // once); sending one copies it into its message.
    const socket = new Socket({ allowHalfOpen: true, onread: { buffer: Buffer.allocUnsafeSlow(READ_BYTES), callback: (n: number, buf: Buffer) => void onChunk(buf.subarray(0, n)) } } as SocketConstructorOpts);
    const sender = new CreditSender((chunk) => peer.send({ $case: 'data', data: chunk }), READ_BYTES);
    const granter = new CreditGranter((bytes) => peer.send({ $case: 'window', window: { bytes } }), options.windowBytes ?? BULK_WINDOW_BYTES);
    let connected = false;
    let targetEnded = false;
    let operatorEnded = false;
    let finished = false;

    const finish = (reason: string, error?: RemoteError): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sender.dispose();
      socket.destroy();
      if (error) refuse(peer, error.code, error.message);
      else peer.close(reason);
      resolve();
    };
    const maybeDone = (): void => {
      if (targetEnded && operatorEnded && sender.pendingBytes === 0) finish('done');
    };

    const timer = setTimeout(() => finish('', new RemoteError('connect-failed', `connecting to ${shown} (${target.address}) timed out after ${(options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS) / 1000} s`)), options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    timer.unref();

    socket.on('connect', () => {
      connected = true;
      clearTimeout(timer);
      granter.start();
    });
    const onChunk = (chunk: Buffer): void => {
      if (!sender.write(chunk)) socket.pause();
    };
    sender.onDrain(() => {
      socket.resume();
      if (targetEnded) sendEofWhenDrained();
    });
    let eofSent = false;
    const sendEofWhenDrained = (): void => {
      if (eofSent || sender.pendingBytes > 0 || finished) return;
      eofSent = true;
      peer.send({ $case: 'eof', eof: {} });
      maybeDone();
    };
    socket.on('end', () => {
      targetEnded = true;
      sendEofWhenDrained();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const what = connected ? `the connection to ${shown} failed` : `cannot connect to ${shown} (${target.address}:${target.port})`;
      finish('', new RemoteError(connected ? 'internal' : 'connect-failed', `${what}: ${err.code ?? err.message}`));
    });
    socket.on('close', () => {
      if (!targetEnded) finish('', new RemoteError('internal', `the connection to ${shown} closed unexpectedly`));
      else if (!finished && operatorEnded) maybeDone();
    });

    peer.onFrame((frame: ChannelFrame) => {
      if (finished) return;
      try {
        switch (frame.$case) {
          case 'data': {
            granter.received(frame.data.byteLength);
            const n = frame.data.byteLength;
            // The frame's buffer goes back to the message pool once the socket has it.
            socket.write(frame.data, () => {
              granter.consumed(n);
              messagePool.release(frame.data);
            });
            break;
          }
          case 'window':
            sender.grant(frame.window.bytes);
            break;
          case 'eof':
            operatorEnded = true;
            socket.end();
            maybeDone();
            break;
          default:
            throw new RemoteError('protocol', `a port-forward channel does not take ${frame.$case} frames`);
        }
      } catch (err) {
        finish('', err instanceof RemoteError ? err : new RemoteError('internal', (err as Error).message));
      }
    });
    peer.onClose(() => finish('operator closed'));

    socket.connect({ host: target.address, port: target.port });
  });
}
