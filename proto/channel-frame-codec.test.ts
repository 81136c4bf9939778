import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChannelFrame } from './gen/fleet/v1/channel';
import { ConsoleChannelRequest, ConsoleChannelResponse } from './gen/fleet/v1/console';
import {
  decodeChannelFrame,
  decodeConsoleChannelResponse,
  encodeChannelFrame,
  encodeConsoleChannelRequest,
  encodePayloadFrame,
  encodeWrappedPayloadFrame,
  peekChannelFrame,
  peekConsoleChannelRequest,
  unwrapFrame,
  wrapFrame,
  writeWrapperPrefix,
  wrapperPrefixLength,
} from './channel-frame-codec';

// Every hand-written path against the generated code: same bytes out, same
// values in, payloads as views where promised.

const SIZES = [0, 1, 127, 128, 16_383, 16_384, 65_536, 262_144, 2_097_152];
const generated = (frame: ChannelFrame) => Buffer.from(ChannelFrame.encode(frame).finish());
const others: ChannelFrame[] = [
  { frame: { $case: 'window', window: { bytes: 262_144 } } },
  { frame: { $case: 'resize', resize: { cols: 120, rows: 40 } } },
  { frame: { $case: 'exit', exit: { code: 3, signal: 'SIGTERM' } } },
  { frame: { $case: 'close', close: { reason: 'done' } } },
  { frame: { $case: 'error', error: { code: 'protocol', message: 'no' } } },
  { frame: { $case: 'file', file: { size: 2 ** 33, mode: 0o640, mtimeMs: 1_700_000_000_000, offset: 5 } } },
  { frame: { $case: 'eof', eof: { sha256: 'ab'.repeat(32) } } },
  { frame: { $case: 'listing', listing: { path: '/data', entries: [{ name: 'a', type: 'file', size: 1, mode: 0o644, mtimeMs: 1 }], nextCursor: 'a' } } },
];

describe('data and stderr frames', () => {
  it.each(SIZES)('encode %i bytes exactly as the generated code does, and peek/decode them as views', (n) => {
    for (const kind of ['data', 'stderr'] as const) {
      const payload = randomBytes(n);
      const frame = { frame: kind === 'data' ? { $case: 'data' as const, data: payload } : { $case: 'stderr' as const, stderr: payload } };
      const ours = encodePayloadFrame(kind, payload);
      expect(Buffer.compare(ours, generated(frame))).toBe(0);
      expect(Buffer.compare(encodeChannelFrame(frame), ours)).toBe(0);

      const peeked = peekChannelFrame(ours);
      expect(peeked.case).toBe(kind);
      expect(peeked.frame).toBeUndefined();
      expect(peeked.payload!.length).toBe(n);
      expect(peeked.payload!.buffer).toBe(ours.buffer);
      expect(Buffer.compare(peeked.payload!, payload)).toBe(0);

      const decoded = decodeChannelFrame(ours).frame;
      expect(decoded?.$case).toBe(kind);
      const got = decoded?.$case === 'data' ? decoded.data : decoded?.$case === 'stderr' ? decoded.stderr : undefined;
      expect(Buffer.compare(got!, payload)).toBe(0);
    }
  });

  it('counts the payload of an unusually encoded data frame as the generated decoder reads it (last field wins)', () => {
    // data "abc", then data "hello": protobuf keeps the last one.
    const wire = Buffer.concat([generated({ frame: { $case: 'data', data: Buffer.from('abc') } }), generated({ frame: { $case: 'data', data: Buffer.from('hello') } })]);
    const peeked = peekChannelFrame(wire);
    expect(peeked.case).toBe('data');
    expect(peeked.payload!.toString()).toBe('hello');
    expect(peeked.bytes).toBe(wire);
  });
});

describe('every other frame', () => {
  it.each(others.map((f) => [f.frame!.$case, f]))('%s goes through the generated code both ways', (_case, frame) => {
    const wire = encodeChannelFrame(frame);
    expect(Buffer.compare(wire, generated(frame))).toBe(0);
    const peeked = peekChannelFrame(wire);
    expect(peeked.case).toBe(frame.frame!.$case);
    expect(peeked.payload).toBeUndefined();
    expect(peeked.frame).toEqual(ChannelFrame.decode(wire));
    expect(decodeChannelFrame(wire)).toEqual(ChannelFrame.decode(wire));
  });

  it('an empty frame and a newer peer\'s unknown case have no case', () => {
    expect(peekChannelFrame(Buffer.alloc(0)).case).toBeUndefined();
    const unknown = Buffer.from([0x5a, 0x01, 0x00]); // field 11, 1 byte
    expect(peekChannelFrame(unknown).case).toBeUndefined();
    expect(decodeChannelFrame(unknown)).toEqual({ frame: undefined });
  });

  it('a malformed frame throws', () => {
    expect(() => peekChannelFrame(Buffer.from([0x22, 0x05, 0x08]))).toThrow();
  });
});

describe('the console wrappers (frame = field 2)', () => {
  it.each(SIZES)('a %i-byte data frame wrapped is the generated ConsoleChannelRequest and Response', (n) => {
    const data = randomBytes(n);
    const frame: ChannelFrame = { frame: { $case: 'data', data } };
    const request: ConsoleChannelRequest = { msg: { $case: 'frame', frame } };
    const response: ConsoleChannelResponse = { msg: { $case: 'frame', frame } };
    const want = Buffer.from(ConsoleChannelRequest.encode(request).finish());
    expect(Buffer.compare(want, Buffer.from(ConsoleChannelResponse.encode(response).finish()))).toBe(0);
    expect(Buffer.compare(encodeWrappedPayloadFrame('data', data), want)).toBe(0);
    expect(Buffer.compare(encodeConsoleChannelRequest(request), want)).toBe(0);
    expect(Buffer.compare(wrapFrame(encodePayloadFrame('data', data)), want)).toBe(0);

    const inner = unwrapFrame(want)!;
    expect(inner.buffer).toBe(want.buffer);
    expect(Buffer.compare(inner, encodePayloadFrame('data', data))).toBe(0);

    const decoded = decodeConsoleChannelResponse(want);
    const generatedData = (ConsoleChannelResponse.decode(want).msg as { frame: { frame: { data: Buffer } } }).frame.frame.data;
    const ourData = (decoded.msg as { frame: { frame: { data: Buffer } } }).frame.frame.data;
    expect(decoded.msg?.$case === 'frame' && decoded.msg.frame.frame?.$case).toBe('data');
    expect(Buffer.compare(ourData, generatedData)).toBe(0);
    if (n > 0) expect(ourData.buffer).toBe(want.buffer);

    const peeked = peekConsoleChannelRequest(want);
    expect(peeked.$case).toBe('frame');
    if (peeked.$case !== 'frame') return;
    expect(peeked.frame.case).toBe('data');
    expect(peeked.frame.payload!.length).toBe(n);
    expect(peeked.frame.bytes.buffer).toBe(want.buffer);
  });

  it('writes the header in place in front of a frame', () => {
    const frame = encodePayloadFrame('stderr', randomBytes(300_000));
    const room = Buffer.alloc(8 + frame.length);
    frame.copy(room, 8);
    const start = writeWrapperPrefix(room, 8, frame.length);
    expect(8 - start).toBe(wrapperPrefixLength(frame.length));
    expect(Buffer.compare(room.subarray(start), wrapFrame(frame))).toBe(0);
  });

  it('peeks start and every other frame of a request, decodes every response', () => {
    const start: ConsoleChannelRequest = { msg: { $case: 'start', start: { deviceId: 'd1', open: { kind: { $case: 'portForward', portForward: { host: 'localhost', port: 80 } } } } } };
    expect(peekConsoleChannelRequest(Buffer.from(ConsoleChannelRequest.encode(start).finish()))).toEqual(start.msg);
    expect(peekConsoleChannelRequest(Buffer.alloc(0))).toEqual({ $case: undefined });
    for (const frame of others) {
      const request: ConsoleChannelRequest = { msg: { $case: 'frame', frame } };
      const wire = encodeConsoleChannelRequest(request);
      expect(ConsoleChannelRequest.decode(wire)).toEqual(request);
      const peeked = peekConsoleChannelRequest(wire);
      expect(peeked.$case === 'frame' && peeked.frame.frame).toEqual(ChannelFrame.decode(generated(frame)));
      const response = { msg: { $case: 'frame' as const, frame } };
      const rwire = Buffer.from(ConsoleChannelResponse.encode(response).finish());
      expect(decodeConsoleChannelResponse(rwire)).toEqual(ConsoleChannelResponse.decode(rwire));
    }
    const started: ConsoleChannelResponse = { msg: { $case: 'started', started: { sessionId: 's1', recorded: true } } };
    expect(decodeConsoleChannelResponse(Buffer.from(ConsoleChannelResponse.encode(started).finish()))).toEqual(started);
  });

  it('re-encodes a request frame in an unusual encoding, so the bytes forwarded are what was decoded', () => {
    // start, then a frame: the frame wins (oneof, last field).
    const startBytes = Buffer.from(ConsoleChannelRequest.encode({ msg: { $case: 'start', start: { deviceId: 'd', open: undefined } } }).finish());
    const frameBytes = encodeWrappedPayloadFrame('data', Buffer.from('xyz'));
    const peeked = peekConsoleChannelRequest(Buffer.concat([startBytes, frameBytes]));
    expect(peeked.$case).toBe('frame');
    if (peeked.$case !== 'frame') return;
    expect(peeked.frame.payload!.toString()).toBe('xyz');
    expect(Buffer.compare(peeked.frame.bytes, encodePayloadFrame('data', Buffer.from('xyz')))).toBe(0);
  });
});
