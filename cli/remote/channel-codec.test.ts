import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConsoleChannelRequest } from '../../proto/gen/fleet/v1/console';
import { encodeChannelRequest } from './channel-codec';

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
});
