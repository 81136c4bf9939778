import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AdmissionStatus } from '../../proto/gen/fleet/v1/common';
import { decodeChannelFrame, encodeChannelFrame } from '../../proto/channel-frame-codec';
import { consoleChannelCall } from '../../proto/console-channel-call';
import type { ChannelFrame } from '../../proto/gen/fleet/v1/channel';
import type { ConsoleChannelResponse, ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import { DeviceServiceService, type DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { ClientStreamCall } from '../../proto/stream-client-call';
import { certificateFingerprint, pemToDer } from '../../proto/tls-fingerprint';
import { dataFrame, dialDeviceChannel, openConsoleChannel, shellOpen, windowFrame } from '../testing/channel-clients';
import { openControlStream } from '../testing/control-stream';
import { enroll, makeDeviceKey } from '../testing/device-identity';
import { nextCommand } from '../testing/fleet-fixtures';
import { bearer, call, consoleClient, deviceClient } from '../testing/grpc-clients';
import { runHubProcess, stopHubProcess, waitForListening, type HubProcess } from '../testing/hub-process';
import { makeTempDir } from '../testing/test-hub';

// A console that stops reading while the device sends as fast as the hub
// takes it must cost the hub a bounded amount of memory. Measured on a real
// fleet-hub process (its RSS from /proc), with a console that granted a
// 4 GiB window — so credit does not hold the device back: only the hub's
// backpressure (stop reading the device while the console's write buffer is
// full) does.

const FLOOD_MS = 2500;
const CHUNK = Buffer.alloc(64 * 1024, 'y');

let dir: string;
let proc: HubProcess | undefined;
let devices: DeviceServiceClient;
let consoles: ConsoleServiceClient;
let admin: string;
let endpoint: { address: string; certPem: string };

beforeAll(async () => {
  dir = makeTempDir('fleet-hub-relay-mem-');
  proc = runHubProcess(['--data', dir, '--listen', '127.0.0.1:0']);
  const address = await waitForListening(proc);
  endpoint = { address, certPem: readFileSync(join(dir, 'hub.crt'), 'utf8') };
  devices = deviceClient(endpoint);
  consoles = consoleClient(endpoint);
  admin = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
}, 30_000);

afterAll(async () => {
  devices?.close();
  consoles?.close();
  await stopHubProcess(proc);
  rmSync(dir, { recursive: true, force: true });
});

function hubRssBytes(): number {
  const status = readFileSync(`/proc/${proc!.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** One side of the flood, whatever the transport. */
interface FloodEnd {
  /** false: the transport's buffer is full, wait for drained(). */
  send(frame: ChannelFrame['frame']): boolean;
  drained(): Promise<void>;
  /** The next frame received. */
  next(): Promise<ChannelFrame>;
  pause(): void;
  resume(): void;
  cancel(): void;
}

/** An accepted device with its control stream, for a channel to be asked of it. */
async function acceptedDevice(serial: string): Promise<{ deviceId: string; token: string; control: ReturnType<typeof openControlStream> }> {
  const key = makeDeviceKey();
  const identity = { device_type: 'mem-test', serial };
  const first = await enroll(devices, key, identity);
  await call(consoles, consoles.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [first.deviceId], filter: undefined }, bearer(admin));
  const { token } = await enroll(devices, key, identity);
  const control = openControlStream(devices, token);
  await control.next();
  return { deviceId: first.deviceId, token, control };
}

/**
 * The console grants 4 GiB and stops reading; the device sends as fast as
 * the hub takes it for FLOOD_MS; the hub's RSS must stay bounded. Then the
 * console reads again and gets every byte.
 */
async function flood(label: string, operator: FloodEnd, dev: FloodEnd): Promise<void> {
  operator.send(windowFrame(0xffff_ffff));
  expect((await dev.next()).frame).toEqual(windowFrame(0xffff_ffff));
  operator.pause();

  const before = hubRssBytes();
  let sent = 0;
  let peakRss = before;
  const until = Date.now() + FLOOD_MS;
  while (Date.now() < until) {
    if (dev.send(dataFrame(CHUNK))) {
      sent += CHUNK.length;
      continue;
    }
    sent += CHUNK.length;
    // Held: wait for room, but keep measuring while the hub holds us back.
    await Promise.race([dev.drained(), new Promise((r) => setTimeout(r, 100))]);
    peakRss = Math.max(peakRss, hubRssBytes());
  }
  peakRss = Math.max(peakRss, hubRssBytes());
  const growth = peakRss - before;
  console.log(`relay memory (${label}): device got ${(sent / 2 ** 20).toFixed(1)} MiB into the pipe in ${FLOOD_MS} ms; hub RSS ${(before / 2 ** 20).toFixed(1)} -> peak ${(peakRss / 2 ** 20).toFixed(1)} MiB (+${(growth / 2 ** 20).toFixed(1)} MiB)`);
  // Without backpressure the device pushes hundreds of MiB through loopback in this time.
  expect(sent).toBeLessThan(24 * 2 ** 20);
  expect(growth).toBeLessThan(24 * 2 ** 20);

  // The console reads again: every byte the device got in arrives, in order, and the pipe flows.
  operator.resume();
  let got = 0;
  while (got < sent) {
    const f = await operator.next();
    if (f.frame?.$case !== 'data') throw new Error(`expected data, got ${f.frame?.$case}`);
    got += f.frame.data.length;
  }
  expect(got).toBe(sent);
  operator.cancel();
  dev.cancel();
}

it('keeps hub memory bounded when the console stops reading and the device floods (gRPC ends)', async () => {
  const { deviceId, token, control } = await acceptedDevice('MEM-1');
  const operator = openConsoleChannel(consoles, admin, deviceId, shellOpen());
  const req = await nextCommand(control);
  if (req.msg?.$case !== 'channelRequest') throw new Error(`expected a channelRequest, got ${req.msg?.$case}`);
  const dev = dialDeviceChannel(devices, token, req.msg.channelRequest.channelId);
  expect(await operator.started).toBeDefined();
  await flood('gRPC', { ...operator, send: (f) => (operator.send(f), true), drained: () => Promise.resolve(), next: () => operator.next(10_000) }, dev);
  control.call.cancel();
}, 60_000);

it('keeps hub memory bounded on the bare stream the agent, fleetctl and the console use', async () => {
  const { deviceId, token, control } = await acceptedDevice('MEM-2');
  const target = { hub: endpoint.address, caPem: endpoint.certPem, fingerprint: certificateFingerprint(pemToDer(endpoint.certPem)) };
  const operator = streamEnd(consoleChannelCall({ ...target, token: admin }), (m: ConsoleChannelResponse) => (m.msg?.$case === 'frame' ? m.msg.frame : undefined));
  operator.call.write({ msg: { $case: 'start', start: { deviceId, open: shellOpen() } } });
  const req = await nextCommand(control);
  if (req.msg?.$case !== 'channelRequest') throw new Error(`expected a channelRequest, got ${req.msg?.$case}`);
  const device = streamEnd(
    new ClientStreamCall<ChannelFrame, ChannelFrame>({ ...target, method: DeviceServiceService.channel.path, metadata: { authorization: `Bearer ${token}`, 'fleet-channel-id': req.msg.channelRequest.channelId }, serialize: encodeChannelFrame, deserialize: decodeChannelFrame }),
    (m: ChannelFrame) => m,
  );
  await operator.started;
  await flood(
    'bare stream',
    { ...operator.end, send: (frame) => operator.call.write({ msg: { $case: 'frame', frame: { frame } } }) },
    { ...device.end, send: (frame) => device.call.write({ frame }) },
  );
  control.call.cancel();
}, 60_000);

/** A stream call as a flood end: frames queued as they come, `started` for the console's first answer. */
function streamEnd<Req, Res>(call: ClientStreamCall<Req, Res>, frameOf: (m: Res) => ChannelFrame | undefined) {
  const frames: ChannelFrame[] = [];
  const waiters: ((f: ChannelFrame) => void)[] = [];
  let onStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  call.on('data', (m: Res) => {
    const f = frameOf(m);
    if (!f) return onStarted();
    const w = waiters.shift();
    if (w) w(f);
    else frames.push(f);
  });
  call.on('error', () => undefined);
  const end: Omit<FloodEnd, 'send'> = {
    drained: () => new Promise<void>((resolve) => call.once('drain', () => resolve())),
    next: () => (frames.length ? Promise.resolve(frames.shift()!) : new Promise<ChannelFrame>((resolve) => waiters.push(resolve))),
    pause: () => call.pause(),
    resume: () => call.resume(),
    cancel: () => call.cancel(),
  };
  return { call, end, started };
}
