import type { Duplex } from 'node:stream';

// The artifact byte stream's wire format (ALPN `fleet-artifacts/2` on the
// hub's TLS port, see shared-port.ts): the bytes of one artifact file from an
// offset, with nothing around them, paced by the device's credit.
//
//   device -> hub   one JSON line: {"artifactId","offset","token","window"}
//                   then credit grants: 4-byte big-endian unsigned integers,
//                   each "you may send this many bytes more"
//   hub -> device   one JSON line: {"offset","totalSize"} or {"code","message"}
//                   (code: a gRPC status name; the hub then closes), then the
//                   raw bytes from offset to totalSize, then the hub ends.
//
// Why not HTTP/2: its framing and a buffer per 16 KiB TLS record cost the
// device more CPU than hashing the bytes did; here the device reads into one
// buffer of its own. The credit keeps what HTTP/2's window gave: at most
// `window` bytes in flight, so a cut connection loses little (the device
// resumes from its last byte) and nothing buffers more than the device
// asked for.

export interface ArtifactRequest {
  artifactId: string;
  offset: number;
  token: string;
  /** The first credit: bytes the hub may send before the device grants more. */
  window: number;
}

export type ArtifactAnswer = { offset: number; totalSize: number } | { code: string; message: string };

/** A header line longer than this is not ours. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** The window a hub accepts, whatever the device asks: small enough to bound what one download holds. */
export const MIN_WINDOW_BYTES = 64 * 1024;
export const MAX_WINDOW_BYTES = 16 * 1024 * 1024;

export function encodeLine(value: ArtifactRequest | ArtifactAnswer): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
}

export function encodeCredit(bytes: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(bytes);
  return b;
}

/** Collects bytes up to the first newline: the header line, then whatever followed it in the same read. */
export class LineReader {
  private parts: Buffer[] = [];
  private held = 0;

  /** The line (without its newline) and the bytes after it once the newline came; undefined before. Throws when the line is too long. */
  push(chunk: Uint8Array): { line: string; rest: Buffer } | undefined {
    const nl = chunk.indexOf(10);
    if (nl < 0) {
      this.held += chunk.length;
      if (this.held > MAX_HEADER_BYTES) throw new Error(`the header line is longer than ${MAX_HEADER_BYTES} bytes`);
      this.parts.push(Buffer.from(chunk));
      return undefined;
    }
    this.parts.push(Buffer.from(chunk.subarray(0, nl)));
    const line = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    return { line, rest: Buffer.from(chunk.subarray(nl + 1)) };
  }
}

export function parseRequest(line: string): ArtifactRequest {
  let v: Partial<ArtifactRequest>;
  try {
    v = JSON.parse(line) as Partial<ArtifactRequest>;
  } catch {
    throw new Error('the request line is not JSON');
  }
  if (typeof v.artifactId !== 'string' || typeof v.token !== 'string' || !Number.isSafeInteger(v.offset) || !Number.isSafeInteger(v.window)) {
    throw new Error('the request needs artifactId and token (strings), offset and window (integers)');
  }
  return { artifactId: v.artifactId, token: v.token, offset: v.offset as number, window: v.window as number };
}

export function parseAnswer(line: string): ArtifactAnswer {
  const v = JSON.parse(line) as Record<string, unknown>;
  if (typeof v.code === 'string' && typeof v.message === 'string') return { code: v.code, message: v.message };
  if (Number.isSafeInteger(v.offset) && Number.isSafeInteger(v.totalSize)) return { offset: v.offset as number, totalSize: v.totalSize as number };
  throw new Error(`the hub's answer has neither offset/totalSize nor code/message: ${line.slice(0, 200)}`);
}

/**
 * The sender's side of the credit: bytes it may still send. Grants arrive
 * as 4-byte integers, possibly split across reads.
 */
export class CreditGate {
  private credit: number;
  private partial = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closed: Error | undefined;

  constructor(window: number) {
    this.credit = window;
  }

  /** Feed what the receiver sent after its request line. */
  push(chunk: Buffer): void {
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    while (data.length >= 4) {
      this.credit += data.readUInt32BE(0);
      data = data.subarray(4);
    }
    this.partial = Buffer.from(data);
    this.wake();
  }

  /** Resolves with the bytes that may be sent now (> 0), once there are any; rejects once closed. */
  async room(): Promise<number> {
    while (this.credit <= 0) {
      if (this.closed) throw this.closed;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.credit;
  }

  take(bytes: number): void {
    this.credit -= bytes;
  }

  close(err: Error): void {
    this.closed ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/**
 * Reads the device's request line from a fresh connection and from then on
 * feeds its grants to the returned gate (attached at once, so no grant sent
 * right behind the request is lost while the caller checks the request).
 */
export function readArtifactRequest(socket: Duplex, timeoutMs: number): Promise<{ request: ArtifactRequest; credit: CreditGate }> {
  return new Promise((resolve, reject) => {
    const reader = new LineReader();
    const stop = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      try {
        const got = reader.push(chunk);
        if (!got) return;
        stop();
        const request = parseRequest(got.line);
        const credit = new CreditGate(Math.min(MAX_WINDOW_BYTES, Math.max(MIN_WINDOW_BYTES, request.window)));
        credit.push(got.rest);
        socket.on('data', (c: Buffer) => credit.push(c));
        socket.once('close', () => credit.close(new Error('the device closed the connection')));
        resolve({ request, credit });
      } catch (err) {
        stop();
        reject(err as Error);
      }
    };
    const onClose = (): void => {
      stop();
      reject(new Error('the connection closed before its request line'));
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no request line within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
