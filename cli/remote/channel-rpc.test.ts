import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConsoleChannelRequest, ConsoleChannelResponse } from '../../proto/gen/fleet/v1/console';
import { CONSOLE_CHANNEL_METHOD } from './channel-rpc';

// fleetctl's Channel method speaks the same bytes as the generated one, with
// data payloads received as views (the codec itself: proto/channel-frame-codec.test.ts).

describe("fleetctl's Channel method", () => {
  it('sends data frames and every other request exactly as the generated serializer does', () => {
    const requests: ConsoleChannelRequest[] = [
      { msg: { $case: 'frame', frame: { frame: { $case: 'data', data: randomBytes(262_144) } } } },
      { msg: { $case: 'frame', frame: { frame: { $case: 'window', window: { bytes: 262_144 } } } } },
      { msg: { $case: 'start', start: { deviceId: 'd1', open: { kind: { $case: 'file', file: { op: 'list', path: '/data' } } } } } },
    ];
    for (const value of requests) expect(Buffer.compare(CONSOLE_CHANNEL_METHOD.requestSerialize(value), Buffer.from(ConsoleChannelRequest.encode(value).finish()))).toBe(0);
  });

  it('receives a data frame as a view of the message, everything else as the generated decoder does', () => {
    const data = ConsoleChannelResponse.encode({ msg: { $case: 'frame', frame: { frame: { $case: 'data', data: Buffer.from('hello') } } } }).finish();
    const wire = Buffer.from(data);
    const got = CONSOLE_CHANNEL_METHOD.responseDeserialize(wire);
    expect(got.msg?.$case === 'frame' && got.msg.frame.frame?.$case === 'data' && got.msg.frame.frame.data.toString()).toBe('hello');
    expect((got.msg as { frame: { frame: { data: Buffer } } }).frame.frame.data.buffer).toBe(wire.buffer);
    const started: ConsoleChannelResponse = { msg: { $case: 'started', started: { sessionId: 's1', recorded: false } } };
    expect(CONSOLE_CHANNEL_METHOD.responseDeserialize(Buffer.from(ConsoleChannelResponse.encode(started).finish()))).toEqual(started);
  });
});
