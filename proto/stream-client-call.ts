import { EventEmitter } from 'node:events';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { messagePool } from './buffer-pool';
import { pinnedCertificateCheck } from './tls-fingerprint';
import { CLIENT_SILENCE_MS, FLAG_HALF_CLOSE, FLAG_MESSAGE, FLAG_PING, FLAG_PONG, FLAG_STATUS, FrameReader, STREAM_ALPN, writeFrame, writeMessage, type StreamStatus } from './stream-wire';

// The client side of a call on the bare stream (stream-wire.ts), shaped like
// the grpc-js ClientDuplexStream its callers used (write/end/cancel, events
// data, end, error with a ServiceError, status), one TLS connection per call.

/** What callers of a bidirectional call use: grpc-js's ClientDuplexStream and ClientStreamCall both are one. */
export interface DuplexCall<Req, Res> {
  write(value: Req): boolean;
  end(): void;
  cancel(): void;
  on(event: 'data', listener: (message: Res) => void): this;
  on(event: 'end' | 'drain', listener: () => void): this;
  on(event: 'error', listener: (err: ServiceError) => void): this;
  on(event: 'status', listener: (s: { code: number; details: string }) => void): this;
}

export interface StreamCallOptions<Req, Res> {
  /** The hub's `host:port`. */
  hub: string;
  caPem: string;
  /** The pinned certificate fingerprint (the real check; the certificate names 'fleet-hub'). */
  fingerprint: string;
  method: string;
  metadata: Record<string, string>;
  serialize(value: Req): Uint8Array;
  deserialize(bytes: Buffer): Res;
  /** Silence from the hub after which the call fails (default CLIENT_SILENCE_MS: three of its ping intervals). */
  silenceMs?: number;
}

const READ_BUFFER_BYTES = 64 * 1024;

export class ClientStreamCall<Req, Res> extends EventEmitter implements DuplexCall<Req, Res> {
  private readonly socket;
  private readonly reader = new FrameReader(messagePool);
  private done = false;
  private readonly silence: NodeJS.Timeout;

  constructor(private readonly o: StreamCallOptions<Req, Res>) {
    super();
    const url = new URL(`https://${o.hub}`);
    this.socket = connectTls({
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(url.port || 443),
      ca: o.caPem,
      ALPNProtocols: [STREAM_ALPN],
      servername: 'fleet-hub',
      checkServerIdentity: pinnedCertificateCheck(o.fingerprint),
      // Decrypted into one buffer of ours (the reader copies what it keeps):
      // Node would allocate a buffer per 16 KiB TLS record, a GiB of
      // short-lived memory per GiB received.
      onread: { buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES), callback: (n: number, buffer: Buffer) => (this.receive(buffer.subarray(0, n)), true) },
    } as ConnectionOptions);
    // Written before the handshake ends: Node sends it once it has.
    this.socket.write(`${JSON.stringify({ method: o.method, metadata: o.metadata })}\n`);
    // The hub pings whenever the call is quiet: this much silence means it is gone.
    const silenceMs = o.silenceMs ?? CLIENT_SILENCE_MS;
    this.silence = setTimeout(() => this.fail(status.UNAVAILABLE, `no word from the hub in ${silenceMs / 1000} s`), silenceMs);
    this.silence.unref();
    this.socket.on('drain', () => this.emit('drain'));
    this.socket.on('error', (err) => this.fail(status.UNAVAILABLE, err.message));
    this.socket.on('close', () => this.fail(status.UNAVAILABLE, 'the connection to the hub closed'));
  }

  write(value: Req): boolean {
    if (this.done || this.socket.destroyed) return false;
    // serialize() makes a buffer for this write alone: it goes back to the pool once sent.
    return writeMessage(this.socket, this.o.serialize(value));
  }

  /** No more messages from this side (the hub may still send). */
  end(): void {
    if (this.done || this.socket.destroyed) return;
    writeFrame(this.socket, FLAG_HALF_CLOSE, Buffer.alloc(0));
  }

  cancel(): void {
    this.fail(status.CANCELLED, 'Cancelled on client');
  }

  /** Stops reading: TCP then holds the hub's writes (and the relay the other side). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  private receive(chunk: Buffer): void {
    if (this.done) return;
    this.silence.refresh();
    try {
      for (const frame of this.reader.push(chunk)) {
        if (this.done) return;
        if (frame.flag === FLAG_MESSAGE) this.emit('data', this.o.deserialize(frame.bytes));
        else if (frame.flag === FLAG_PING) writeFrame(this.socket, FLAG_PONG, Buffer.alloc(0));
        else if (frame.flag === FLAG_STATUS) this.settle(JSON.parse(frame.bytes.toString('utf8')) as StreamStatus);
        else throw new Error(`a frame with flag ${frame.flag} from the hub`);
      }
    } catch (err) {
      this.fail(status.INTERNAL, `bad message from the hub: ${(err as Error).message}`);
    }
  }

  private settle(s: StreamStatus): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.silence);
    this.socket.end();
    if (s.code === status.OK) this.emit('end');
    else this.emit('error', serviceError(s.code, s.details));
    this.emit('status', { code: s.code, details: s.details, metadata: new Metadata() });
  }

  private fail(code: status, details: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.silence);
    this.socket.destroy();
    this.emit('error', serviceError(code, details));
    this.emit('status', { code, details, metadata: new Metadata() });
  }
}

function serviceError(code: number, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code] ?? ''}: ${details}`), { code, details, metadata: new Metadata() });
}
