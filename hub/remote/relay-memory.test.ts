import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AdmissionStatus } from '../../proto/gen/fleet/v1/common';
import type { ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
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

beforeAll(async () => {
  dir = makeTempDir('fleet-hub-relay-mem-');
  proc = runHubProcess(['--data', dir, '--listen', '127.0.0.1:0']);
  const address = await waitForListening(proc);
  const endpoint = { address, certPem: readFileSync(join(dir, 'hub.crt'), 'utf8') };
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

it('keeps hub memory bounded when the console stops reading and the device floods', async () => {
  const key = makeDeviceKey();
  const identity = { device_type: 'mem-test', serial: 'MEM-1' };
  const first = await enroll(devices, key, identity);
  await call(consoles, consoles.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [first.deviceId], filter: undefined }, bearer(admin));
  const { token } = await enroll(devices, key, identity);
  const control = openControlStream(devices, token);
  await control.next();

  const operator = openConsoleChannel(consoles, admin, first.deviceId, shellOpen());
  const req = await nextCommand(control);
  if (req.msg?.$case !== 'channelRequest') throw new Error(`expected a channelRequest, got ${req.msg?.$case}`);
  const dev = dialDeviceChannel(devices, token, req.msg.channelRequest.channelId);
  expect(await operator.started).toBeDefined();
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
  console.log(`relay memory: device got ${(sent / 2 ** 20).toFixed(1)} MiB into the pipe in ${FLOOD_MS} ms; hub RSS ${(before / 2 ** 20).toFixed(1)} -> peak ${(peakRss / 2 ** 20).toFixed(1)} MiB (+${(growth / 2 ** 20).toFixed(1)} MiB)`);
  // Without backpressure the device pushes hundreds of MiB through loopback in this time.
  expect(sent).toBeLessThan(24 * 2 ** 20);
  expect(growth).toBeLessThan(24 * 2 ** 20);

  // The console reads again: every byte the device got in arrives, in order, and the pipe flows.
  operator.resume();
  let got = 0;
  while (got < sent) {
    const f = await operator.next(10_000);
    if (f.frame?.$case !== 'data') throw new Error(`expected data, got ${f.frame?.$case}`);
    got += f.frame.data.length;
  }
  expect(got).toBe(sent);
  operator.cancel();
  control.call.cancel();
}, 60_000);
