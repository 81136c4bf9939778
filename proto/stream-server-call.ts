import { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { Metadata, status } from '@grpc/grpc-js';
import { LineReader } from './artifact-wire';
import { messagePool } from './buffer-pool';
import { readInto } from './read-into';
import { FLAG_HALF_CLOSE, FLAG_MESSAGE, FLAG_PING, FLAG_PONG, FLAG_STATUS, FrameReader, PING_AFTER_MS, writeFrame, writeMessage, type StreamRequest, type StreamStatus } from './stream-wire';

// The server side of a call on the bare stream (stream-wire.ts), shaped like
// the grpc-js ServerDuplexStream the hub's Channel handlers already take
// (metadata, data/end/cancelled/drain/error events, pause/resume, write/end,
// `emit('error', {code, details})` to end with a status), so one handler
// serves both transports.

export interface StreamMethod {
  deserialize(bytes: Buffer): unknown;
  serialize(value: unknown): Buffer;
  handle(call: ServerStreamCall): void;
}

/** Where every call's reads land (read-into.ts); 64 KiB, Node's own read size. */
const sharedReadBuffer = Buffer.allocUnsafeSlow(64 * 1024);

/** A client has this long after the TLS handshake to send its request line. */
const REQUEST_TIMEOUT_MS = 10_000;

export class ServerStreamCall extends EventEmitter {
  readonly metadata = new Metadata();
  cancelled = false;
  writableEnded = false;
  private paused = false;
  private readonly queue: ({ message: unknown } | { halfClosed: true })[] = [];
  private readonly reader = new FrameReader(messagePool);
  /** A ping went out and nothing has come back since. */
  private pinged = false;

  constructor(
    private readonly socket: TLSSocket,
    request: StreamRequest,
    private readonly method: StreamMethod,
    pingAfterMs: number,
  ) {
    super();
    for (const [key, value] of Object.entries(request.metadata)) this.metadata.set(key, value);
    socket.on('drain', () => super.emit('drain'));
    // Quiet for PING_AFTER_MS: ping; still nothing heard by the next quiet spell: the client is gone.
    socket.setTimeout(pingAfterMs);
    socket.on('timeout', () => {
      if (this.pinged) return void socket.destroy();
      this.pinged = true;
      writeFrame(socket, FLAG_PING, Buffer.alloc(0));
    });
    this.on('newListener', (event) => {
      if (event === 'data') queueMicrotask(() => this.deliver());
    });
    socket.once('close', () => {
      if (this.writableEnded) return;
      this.cancelled = true;
      this.writableEnded = true;
      super.emit('cancelled', 'cancelled');
    });
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** Bytes that came after the request line, and every read after. */
  receive(chunk: Buffer): void {
    if (this.writableEnded) return;
    this.pinged = false;
    try {
      for (const frame of this.reader.push(chunk)) {
        if (frame.flag === FLAG_MESSAGE) this.queue.push({ message: this.method.deserialize(frame.bytes) });
        else if (frame.flag === FLAG_HALF_CLOSE) this.queue.push({ halfClosed: true });
        else if (frame.flag === FLAG_PONG) continue;
        else throw new Error(`a frame with flag ${frame.flag} from the client`);
      }
    } catch (err) {
      this.finish({ code: status.INTERNAL, details: `bad message on the stream: ${(err as Error).message}` });
      super.emit('cancelled', 'cancelled');
      return;
    }
    this.deliver();
  }

  write(value: unknown): boolean {
    if (this.writableEnded || this.socket.destroyed) return false;
    // What serialize() returns is this write's alone (a relayed frame is not read again once sent).
    return writeMessage(this.socket, this.method.serialize(value));
  }

  /** Ends the call with OK. */
  end(): void {
    this.finish({ code: status.OK, details: 'OK' });
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.socket.resume();
    this.deliver();
  }

  /** As with grpc-js, a handler ends the call with a status by emitting it as an error. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') {
      const e = args[0] as { code?: number; details?: string; message?: string };
      this.finish({ code: typeof e?.code === 'number' ? e.code : status.UNKNOWN, details: e?.details ?? e?.message ?? '' });
      return this.listenerCount('error') > 0 ? super.emit(event, ...args) : true;
    }
    return super.emit(event, ...args);
  }

  /**
   * Hands queued messages on while the call is not paused and someone
   * listens (like a Readable stream: a handler that authenticates first
   * loses nothing that came meanwhile). Messages waiting stop the reading.
   */
  private deliver(): void {
    while (!this.paused && this.queue.length > 0 && this.listenerCount('data') > 0) {
      const next = this.queue.shift()!;
      if ('halfClosed' in next) super.emit('end');
      else super.emit('data', next.message);
    }
    if (this.queue.length > 0) this.socket.pause();
    else if (!this.paused) this.socket.resume();
  }

  private finish(s: StreamStatus): void {
    if (this.writableEnded) return;
    this.writableEnded = true;
    if (this.socket.destroyed) return;
    writeFrame(this.socket, FLAG_STATUS, Buffer.from(JSON.stringify(s)));
    this.socket.end();
  }
}

/** Serves one connection of ALPN fleet-stream/1: reads the request line and hands the call to its method. */
export function serveStreamSocket(socket: TLSSocket, methods: ReadonlyMap<string, StreamMethod>, pingAfterMs = PING_AFTER_MS): void {
  const lines = new LineReader();
  const refuse = (code: status, details: string): void => {
    socket.off('data', onLine);
    if (socket.destroyed) return;
    writeFrame(socket, FLAG_STATUS, Buffer.from(JSON.stringify({ code, details } satisfies StreamStatus)));
    socket.end();
  };
  const timer = setTimeout(() => refuse(status.DEADLINE_EXCEEDED, `no request line within ${REQUEST_TIMEOUT_MS} ms`), REQUEST_TIMEOUT_MS);
  socket.once('close', () => clearTimeout(timer));
  const onLine = (chunk: Buffer): void => {
    let got: ReturnType<LineReader['push']>;
    let request: StreamRequest;
    try {
      got = lines.push(chunk);
      if (!got) return;
      request = JSON.parse(got.line) as StreamRequest;
      if (typeof request?.method !== 'string' || typeof request.metadata !== 'object' || request.metadata === null) throw new Error('the request needs method and metadata');
    } catch (err) {
      clearTimeout(timer);
      return refuse(status.INVALID_ARGUMENT, `not a stream request: ${(err as Error).message}`);
    }
    clearTimeout(timer);
    socket.off('data', onLine);
    const method = methods.get(request.method);
    if (!method) return refuse(status.UNIMPLEMENTED, `no method ${request.method.slice(0, 200)} on this stream`);
    const call = new ServerStreamCall(socket, request, method, pingAfterMs);
    // The call copies what it keeps, so every connection reads into one buffer.
    if (!readInto(socket, sharedReadBuffer, (bytes) => call.receive(bytes))) socket.on('data', (c: Buffer) => call.receive(c));
    method.handle(call);
    if (got.rest.length > 0) call.receive(got.rest);
  };
  socket.on('data', onLine);
}
