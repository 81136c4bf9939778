import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeConsoleChannelResponse, encodeConsoleChannelRequest } from './channel-frame-codec';
import { ConsoleChannelRequest, ConsoleChannelResponse } from './gen/fleet/v1/console';

// The console side of the Channel (fleetctl) speaks the same bytes as the
// generated code, with data payloads received as views (the frame codec
// itself: channel-frame-codec.test.ts).

describe('the console side of the Channel codec', () => {
  it('sends data frames and every other request exactly as the generated serializer does', () => {
    const requests: ConsoleChannelRequest[] = [
      { msg: { $case: 'frame', frame: { frame: { $case: 'data', data: randomBytes(262_144) } } } },
      { msg: { $case: 'frame', frame: { frame: { $case: 'window', window: { bytes: 262_144 } } } } },
      { msg: { $case: 'start', start: { deviceId: 'd1', open: { kind: { $case: 'file', file: { op: 'list', path: '/data' } } } } } },
    ];
    for (const value of requests) expect(Buffer.compare(encodeConsoleChannelRequest(value), Buffer.from(ConsoleChannelRequest.encode(value).finish()))).toBe(0);
  });

  it('receives a data frame as a view of the message, everything else as the generated decoder does', () => {
    const data = ConsoleChannelResponse.encode({ msg: { $case: 'frame', frame: { frame: { $case: 'data', data: Buffer.from('hello') } } } }).finish();
    const wire = Buffer.from(data);
    const got = decodeConsoleChannelResponse(wire);
    expect(got.msg?.$case === 'frame' && got.msg.frame.frame?.$case === 'data' && got.msg.frame.frame.data.toString()).toBe('hello');
    expect((got.msg as { frame: { frame: { data: Buffer } } }).frame.frame.data.buffer).toBe(wire.buffer);
    const started: ConsoleChannelResponse = { msg: { $case: 'started', started: { sessionId: 's1', recorded: false } } };
    expect(decodeConsoleChannelResponse(Buffer.from(ConsoleChannelResponse.encode(started).finish()))).toEqual(started);
  });
});
