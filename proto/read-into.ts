import { Socket, type SocketConstructorOpts } from 'node:net';

// Reading an accepted socket into a buffer of ours, as `onread` does for
// sockets a program connects itself. Node reads every chunk of a socket
// into a buffer of its own (64 KiB for TCP, 16 KiB per TLS record), and on
// a busy relay those short-lived buffers are what the garbage collector
// mostly works on: V8 starts a full mark of the heap for every 64 MiB of
// such memory, and the hub's heap is large. `net.connect({onread})` and
// `tls.connect({onread})` avoid that, but Node offers it only to sockets it
// creates for a connect call, not to those a server accepts.
//
// The mechanism is the same for both (net.Socket keeps the buffer and the
// callback under three symbols; the stream handle's useUserBuffer() makes
// the native side — TLS decryption included — fill that buffer), so this
// sets those on an accepted socket. They are Node internals: the symbols are
// found on a probe socket made with `onread`, and when anything is missing
// the caller is told (false) and keeps reading 'data' events.

/** Called with each read; the bytes are valid only during the call (copy what you keep). */
export type ReadInto = (bytes: Buffer) => void;

interface OnreadSymbols {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let symbols: OnreadSymbols | null | undefined;

function onreadSymbols(): OnreadSymbols | null {
  if (symbols !== undefined) return symbols;
  // The constructor takes `onread` as connect() does (@types/node lists it only for connect).
  const probe = new Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } } as SocketConstructorOpts);
  const byName = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
  probe.destroy();
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  symbols = buffer && callback && generator ? { buffer, callback, generator } : null;
  return symbols;
}

/**
 * From now on, reads of `socket` land in `buffer` and are handed to
 * `onBytes` (pause/resume and 'end' work as before). Returns false, and
 * changes nothing, when this Node cannot do it or bytes already wait in the
 * socket's stream buffer (they would come out of order): read 'data' then.
 *
 * One buffer may serve many sockets: reads are handed on one at a time on
 * the event loop, each before the next is made.
 */
export function readInto(socket: Socket, buffer: Buffer, onBytes: ReadInto): boolean {
  const s = onreadSymbols();
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Buffer) => void } })._handle;
  if (!s || typeof handle?.useUserBuffer !== 'function' || socket.readableLength > 0 || socket.destroyed) return false;
  const target = socket as unknown as Record<symbol, unknown>;
  target[s.buffer] = buffer;
  target[s.callback] = (n: number, b: Buffer) => {
    onBytes(b.subarray(0, n));
    return true;
  };
  target[s.generator] = null;
  handle.useUserBuffer(buffer);
  return true;
}
