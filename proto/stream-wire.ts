import type { Socket } from 'node:net';
import { BufferPool, messagePool, POOLED_MIN_BYTES } from './buffer-pool';

// A bidirectional message stream on a bare TLS connection (ALPN
// `fleet-stream/1` on the hub's port, see shared-port.ts): the remote
// session channels' data plane. gRPC's HTTP/2 legs cost the channels about
// four times the CPU per byte of a socket (framing and a flow-control window
// of 64 KiB on every leg, a buffer per TLS record), and tunnels and file
// transfers are nothing but bytes. The messages are the same protobuf
// messages as the gRPC Channel methods, in gRPC's own message framing:
//
//   client -> server   one JSON line {"method": "/fleet.v1.X/Channel", "metadata": {...}}
//   both ways          frames: 1 flag byte, 4-byte big-endian length, bytes
//                      flag 0: a message
//                      flag 1: client -> server, no more messages (half-close)
//                      flag 2: server -> client, a ping after 20 s without
//                      traffic; flag 3: the client's answer
//                      flag 0x80: server -> client, the call's status as JSON
//                      {"code": <gRPC status number>, "details": "..."}; the
//                      server then closes
//
// Flow control is TCP's: a side that stops reading holds the other's
// writes (and the channels' own credit bounds what is in flight anyway).
// The pings stand in for gRPC's keepalive: a peer that vanished without a
// FIN (a device losing power, a laptop lid closed) ends its call within a
// minute, so the session behind it ends too.

export const STREAM_ALPN = 'fleet-stream/1';

export const FLAG_MESSAGE = 0;
export const FLAG_HALF_CLOSE = 1;
export const FLAG_PING = 2;
export const FLAG_PONG = 3;
export const FLAG_STATUS = 0x80;

/** Silence after which the server pings; a ping unanswered for as long again ends the call. */
export const PING_AFTER_MS = 20_000;
/** The client gives up on a server silent this long (it pings every PING_AFTER_MS of quiet). */
export const CLIENT_SILENCE_MS = 3 * PING_AFTER_MS;

const HEADER_BYTES = 5;
/** A message bigger than this is not ours (the hub's gRPC limit is 4 MiB too). */
export const MAX_STREAM_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface StreamRequest {
  method: string;
  metadata: Record<string, string>;
}

export interface StreamStatus {
  code: number;
  details: string;
}

export interface StreamFrame {
  flag: number;
  /**
   * The frame's bytes; for messages a view into a buffer of their own whose
   * first 5 bytes are the frame header (as grpc-js hands messages on, which
   * the hub's in-place wrapping relies on, hub/remote/channel-wire.ts). With
   * a pool, big messages are in pool buffers: whoever is done with one
   * releases it (writeMessage does).
   */
  bytes: Buffer;
}

/**
 * Writes one frame, the bytes not copied here; `onWritten` runs once the
 * socket has them (not when the write failed). A buffer from the message
 * pool gets its header written in the room in front of it and goes out as
 * one write (TLS would copy a header-and-bytes pair into one buffer of its
 * own). Returns socket.write's answer.
 */
export function writeFrame(socket: Socket, flag: number, bytes: Uint8Array, onWritten?: () => void): boolean {
  if (BufferPool.headroom(bytes) >= HEADER_BYTES) {
    const whole = Buffer.from(bytes.buffer, bytes.byteOffset - HEADER_BYTES, HEADER_BYTES + bytes.byteLength);
    whole[0] = flag;
    whole.writeUInt32BE(bytes.byteLength, 1);
    return socket.write(whole, onWritten);
  }
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = flag;
  header.writeUInt32BE(bytes.length, 1);
  socket.cork();
  socket.write(header);
  const ok = socket.write(bytes, onWritten);
  socket.uncork();
  return ok;
}

/** Writes a message frame of bytes that nobody reads after the write: a pool buffer goes back to the pool then. */
export function writeMessage(socket: Socket, bytes: Uint8Array): boolean {
  return writeFrame(socket, FLAG_MESSAGE, bytes, () => messagePool.release(bytes));
}

/** Splits the bytes of a connection into frames, however the reads cut them. */
export class FrameReader {
  /** With `pool`, messages of POOLED_MIN_BYTES and more go into its buffers. */
  constructor(private readonly pool?: BufferPool) {}

  private header = Buffer.allocUnsafe(HEADER_BYTES);
  private headerFilled = 0;
  private current: Buffer | undefined;
  private filled = 0;

  /** The frames completed by this chunk. Throws on a frame over the limit. */
  push(chunk: Buffer): StreamFrame[] {
    const out: StreamFrame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (!this.current) {
        const n = Math.min(HEADER_BYTES - this.headerFilled, chunk.length - at);
        chunk.copy(this.header, this.headerFilled, at, at + n);
        this.headerFilled += n;
        at += n;
        if (this.headerFilled < HEADER_BYTES) break;
        const length = this.header.readUInt32BE(1);
        if (length > MAX_STREAM_MESSAGE_BYTES) throw new Error(`a frame of ${length} bytes (at most ${MAX_STREAM_MESSAGE_BYTES})`);
        this.current = this.pool && length >= POOLED_MIN_BYTES ? this.pool.take(HEADER_BYTES + length) : Buffer.allocUnsafe(HEADER_BYTES + length);
        this.header.copy(this.current, 0);
        this.filled = HEADER_BYTES;
        this.headerFilled = 0;
      }
      const n = Math.min(this.current.length - this.filled, chunk.length - at);
      chunk.copy(this.current, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.current.length) {
        out.push({ flag: this.current[0], bytes: this.current.subarray(HEADER_BYTES) });
        this.current = undefined;
      }
    }
    return out;
  }
}
