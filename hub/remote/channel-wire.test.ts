import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayloadFrame, peekChannelFrame, wrapFrame } from '../../proto/channel-frame-codec';
import type { ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { closeFrame, dataFrame, windowFrame } from '../testing/channel-clients';
import { consoleClient, deviceClient } from '../testing/grpc-clients';
import { pairChannel } from '../testing/remote-fixtures';
import { startTestHub, type TestHub } from '../testing/test-hub';
import { HUB_CONSOLE_CHANNEL_METHOD, HUB_DEVICE_CHANNEL_METHOD, wrapDeviceFrame, type FrameOut } from './channel-wire';

// The hub's Channel methods pass data frames on without decoding or
// re-encoding them: console -> device as the frame bytes inside the
// console's message, device -> console wrapped in place in front of the
// device's message. Checked on a real hub (TLS gRPC) by watching what its
// serializers are given and give grpc-js.

/** A serialized message as grpc-js hands it to a deserializer: the part after its 5-byte header. */
function asReceived(message: Buffer): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  return framed.subarray(5);
}

describe('wrapDeviceFrame', () => {
  it.each([0, 1, 200, 70_000, 1_048_000])('wraps a %i-byte received frame in place, in the room of its gRPC header', (n) => {
    const frame = asReceived(encodePayloadFrame('data', randomBytes(n)));
    const want = wrapFrame(frame);
    const out = wrapDeviceFrame(frame);
    expect(out.buffer).toBe(frame.buffer);
    expect(Buffer.compare(out, want)).toBe(0);
  });

  it('copies a frame whose bytes in front are not its own gRPC header', () => {
    // Big enough not to come from Buffer's shared pool, so a copy has another ArrayBuffer.
    const frame = encodePayloadFrame('data', randomBytes(10_000));
    const behindOther = Buffer.concat([Buffer.from([0, 0, 0, 0x27, 0x10]), frame]).subarray(5); // says 10,000 bytes; the frame has 10,003
    for (const f of [frame, behindOther]) {
      const before = Buffer.from(f.buffer, 0, f.byteOffset).toString('hex');
      const out = wrapDeviceFrame(f);
      expect(out.buffer).not.toBe(f.buffer);
      expect(Buffer.compare(out, wrapFrame(f))).toBe(0);
      expect(Buffer.from(f.buffer, 0, f.byteOffset).toString('hex')).toBe(before);
    }
  });
});

describe('through a real hub', () => {
  let t: TestHub;
  let devices: DeviceServiceClient;
  let consoles: ConsoleServiceClient;
  let otto: string;
  const toDevice: Array<{ value: FrameOut; out: Buffer }> = [];
  const toConsole: Array<{ value: unknown; out: Buffer; input?: Buffer }> = [];
  const original = { device: HUB_DEVICE_CHANNEL_METHOD.responseSerialize, console: HUB_CONSOLE_CHANNEL_METHOD.responseSerialize };

  beforeAll(async () => {
    // grpc-js takes the serializers when the hub registers its services: watch them from the start.
    HUB_DEVICE_CHANNEL_METHOD.responseSerialize = (value) => {
      const out = original.device(value);
      toDevice.push({ value, out });
      return out;
    };
    HUB_CONSOLE_CHANNEL_METHOD.responseSerialize = (value) => {
      const input = Buffer.isBuffer(value) ? Buffer.from(value) : undefined;
      const out = original.console(value);
      toConsole.push({ value, out, input });
      return out;
    };
    t = await startTestHub();
    devices = deviceClient(t.hub);
    consoles = consoleClient(t.hub);
    otto = (await t.hub.store.createOperator('otto', 'operator', 'test')).token;
  });

  afterAll(async () => {
    HUB_DEVICE_CHANNEL_METHOD.responseSerialize = original.device;
    HUB_CONSOLE_CHANNEL_METHOD.responseSerialize = original.console;
    devices?.close();
    consoles?.close();
    await t?.dispose();
  });

  it('relays data frames as the bytes received, both ways, and the ends read them intact', async () => {
    const { console, dev } = await pairChannel({ t, devices, consoles }, otto);
    const up = randomBytes(300_000);
    const down = randomBytes(500_000);
    dev.send(windowFrame(1 << 20));
    console.send(windowFrame(1 << 20));
    await dev.next();
    await console.next();
    console.send(dataFrame(up));
    dev.send(dataFrame(down));
    dev.send({ $case: 'stderr', stderr: Buffer.from('warn') });
    expect(Buffer.compare((await dev.next()).frame?.$case === 'data' ? (dev.received.at(-1)!.frame as { data: Buffer }).data : Buffer.alloc(0), up)).toBe(0);
    const got = await console.next();
    expect(got.frame?.$case === 'data' && Buffer.compare(got.frame.data, down)).toBe(0);
    expect(await console.next()).toEqual({ frame: { $case: 'stderr', stderr: Buffer.from('warn') } });

    // Console -> device: the frame's bytes as they came in the console's message, given to grpc-js as they are.
    const upFrame = toDevice.find((w) => Buffer.isBuffer(w.value) && w.out.length > 300_000)!;
    expect(upFrame.out).toBe(upFrame.value);
    expect(peekChannelFrame(upFrame.out).payload!.equals(up)).toBe(true);
    // Device -> console: wrapped in place in the device's message buffer.
    for (const size of [500_000, 4]) {
      const w = toConsole.find((c) => c.input && peekChannelFrame(c.input).payload?.length === size)!;
      expect(w.out.buffer).toBe((w.value as Buffer).buffer);
      expect(Buffer.compare(w.out, wrapFrame(w.input!))).toBe(0);
    }

    dev.send(closeFrame('done'));
    dev.end();
    await console.until('close');
  });
});
