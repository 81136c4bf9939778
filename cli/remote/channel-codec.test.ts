import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConsoleChannelRequest, ConsoleChannelResponse } from '../../proto/gen/fleet/v1/console';
import { decodeChannelResponse, encodeChannelRequest } from './channel-codec';

describe('the hand-written data frame encoder', () => {
  it.each([0, 1, 127, 128, 16_383, 16_384, 65_536, 262_144, 2_097_152])('encodes %i bytes exactly as the generated code does', (n) => {
    const data = randomBytes(n);
    const value: ConsoleChannelRequest = { msg: { $case: 'frame', frame: { frame: { $case: 'data', data } } } };
    const ours = encodeChannelRequest(value);
    expect(Buffer.compare(ours, Buffer.from(ConsoleChannelRequest.encode(value).finish()))).toBe(0);
    expect(ConsoleChannelRequest.decode(ours)).toEqual(value);
  });

  it('leaves every other message to the generated code', () => {
    const value: ConsoleChannelRequest = { msg: { $case: 'frame', frame: { frame: { $case: 'window', window: { bytes: 262_144 } } } } };
    expect(ConsoleChannelRequest.decode(encodeChannelRequest(value))).toEqual(value);
  });

  it.each([0, 1, 127, 128, 16_384, 262_144, 2_097_152])('decodes a %i-byte data frame as the generated code does, without a copy', (n) => {
    const value: ConsoleChannelResponse = { msg: { $case: 'frame', frame: { frame: { $case: 'data', data: randomBytes(n) } } } };
    const wire = Buffer.from(ConsoleChannelResponse.encode(value).finish());
    const ours = decodeChannelResponse(wire);
    expect(ours).toEqual(ConsoleChannelResponse.decode(wire));
    const data = (ours.msg as { frame: { frame: { data: Buffer } } }).frame.frame.data;
    if (n > 0) expect(data.buffer).toBe(wire.buffer);
  });

  it('hands every other response to the generated decoder', () => {
    const cases: ConsoleChannelResponse[] = [
      { msg: { $case: 'started', started: { sessionId: 's1', recorded: true } } },
      { msg: { $case: 'frame', frame: { frame: { $case: 'stderr', stderr: Buffer.from('oops') } } } },
      { msg: { $case: 'frame', frame: { frame: { $case: 'exit', exit: { code: 3 } } } } },
    ];
    for (const value of cases) expect(decodeChannelResponse(Buffer.from(ConsoleChannelResponse.encode(value).finish()))).toEqual(value);
  });
});
