import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { closeFrame, dataFrame, dialDeviceChannel, openConsoleChannel, shellOpen, windowFrame, type ConsoleChannel } from '../testing/channel-clients';
import { acceptedDevice } from '../testing/fleet-fixtures';
import { channelRequest, connectedDevice as fixtureDevice, pairChannel } from '../testing/remote-fixtures';
import { consoleClient, deviceClient, eventually } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';

// ConsoleService.Channel <-> DeviceService.Channel through a real hub (TLS
// gRPC, SQLite) with a device played by the test: pairing, refusals, relay
// both ways, credit enforcement, drops.

let t: TestHub;
let devices: DeviceServiceClient;
let consoles: ConsoleServiceClient;
let viewer: string;
let otto: string;

beforeAll(async () => {
  t = await startTestHub({ channelOpenTimeoutMs: 1500 });
  devices = deviceClient(t.hub);
  consoles = consoleClient(t.hub);
  viewer = (await t.hub.store.createOperator('vera', 'viewer', 'test')).token;
  otto = (await t.hub.store.createOperator('otto', 'operator', 'test')).token;
});

afterAll(async () => {
  devices?.close();
  consoles?.close();
  await t?.dispose();
});

const clients = () => ({ t, devices, consoles });
const connectedDevice = () => fixtureDevice(clients());
const pair = (token = otto, open = shellOpen({ cols: 100, rows: 30 })) => pairChannel(clients(), token, open);

function endedSession(id: string) {
  return eventually(async () => {
    const s = await t.hub.store.getSession(id);
    return s?.endedMs ? s : undefined;
  }, 5000, `session ${id} to end`);
}

async function refusal(console: ConsoleChannel): Promise<{ code: string; message: string; status: grpc.status }> {
  const frames = await console.until('close');
  const error = frames.find((f) => f.frame?.$case === 'error');
  if (error?.frame?.$case !== 'error') throw new Error('no error frame before close');
  expect(await console.started).toBeUndefined();
  return { ...error.frame.error, status: (await console.status).code };
}

describe('opening a channel', () => {
  it('pairs the console with the device, fills in the operator and relays both ways', async () => {
    const { device, console, dev, req, started } = await pair(otto, shellOpen({ cols: 100, rows: 30, operator: 'someone-else' }));
    expect(req.open?.kind).toEqual({ $case: 'shell', shell: { operator: 'otto', cols: 100, rows: 30, command: undefined } });
    expect(req.channelId.length).toBeGreaterThanOrEqual(24);
    expect(started.recorded).toBe(true);

    // Credit both ways, then data both ways.
    dev.send(windowFrame(1000));
    console.send(windowFrame(1000));
    expect((await dev.next()).frame).toEqual({ $case: 'window', window: { bytes: 1000 } });
    expect((await console.next()).frame).toEqual({ $case: 'window', window: { bytes: 1000 } });
    console.send(dataFrame('ls\n'));
    console.send({ $case: 'resize', resize: { cols: 120, rows: 40 } });
    expect((await dev.next()).frame).toEqual(dataFrame('ls\n'));
    expect((await dev.next()).frame).toEqual({ $case: 'resize', resize: { cols: 120, rows: 40 } });
    dev.send(dataFrame('file-a\r\n'));
    dev.send({ $case: 'exit', exit: { code: 0 } });
    dev.send(closeFrame('exit'));
    dev.end();
    const tail = await console.until('close');
    expect(tail.map((f) => f.frame)).toEqual([dataFrame('file-a\r\n'), { $case: 'exit', exit: { code: 0, signal: undefined } }, closeFrame('exit')]);
    expect((await console.status).code).toBe(grpc.status.OK);
    expect((await dev.status).code).toBe(grpc.status.OK);

    const session = await endedSession(started.sessionId);
    expect(session).toMatchObject({ deviceId: device.id, operator: 'otto', kind: 'shell', detail: '', endReason: 'exit 0', bytesToDevice: 3, bytesFromDevice: 8, recorded: true });
    const audit = await t.hub.store.auditEntries({ limit: 10, subject: device.id, kindPrefix: 'session.' });
    expect(audit.map((e) => [e.kind, e.actor, e.details?.session])).toEqual([
      ['session.closed', 'otto', started.sessionId],
      ['session.opened', 'otto', started.sessionId],
    ]);
  });

  it('refuses a viewer with forbidden, and audits it', async () => {
    const { device, control } = await connectedDevice();
    const r = await refusal(openConsoleChannel(consoles, viewer, device.id, shellOpen()));
    expect(r).toMatchObject({ code: 'forbidden', status: grpc.status.OK });
    expect(r.message).toMatch(/needs the operator role/);
    const [entry] = await t.hub.store.auditEntries({ limit: 1, subject: device.id, kindPrefix: 'session.' });
    expect(entry).toMatchObject({ kind: 'session.refused', actor: 'vera', details: { code: 'forbidden', kind: 'shell' } });
    expect(control.received.some((m) => m.msg?.$case === 'channelRequest')).toBe(false);
  });

  it('refuses a device that is not connected with device-offline', async () => {
    const device = await acceptedDevice(t, devices, 'relay-test');
    expect(await refusal(openConsoleChannel(consoles, otto, device.id, shellOpen()))).toMatchObject({ code: 'device-offline', status: grpc.status.OK });
  });

  it("forwards the device's own refusal", async () => {
    const { device, control } = await connectedDevice();
    const console = openConsoleChannel(consoles, otto, device.id, { kind: { $case: 'portForward', portForward: { host: '127.0.0.1', port: 5432 } } });
    const req = await channelRequest(control);
    control.send({ msg: { $case: 'channelAnswer', channelAnswer: { channelId: req.channelId, refused: { code: 'not-allowed', message: '127.0.0.1:5432 is not in remote.portForward.allow' } } } });
    expect(await refusal(console)).toEqual({ code: 'not-allowed', message: '127.0.0.1:5432 is not in remote.portForward.allow', status: grpc.status.OK });
    const [entry] = await t.hub.store.auditEntries({ limit: 1, subject: device.id, kindPrefix: 'session.' });
    expect(entry).toMatchObject({ kind: 'session.refused', actor: 'otto', details: { code: 'not-allowed', kind: 'port-forward', detail: '127.0.0.1:5432' } });
  });

  it('times out when the device never dials, and a late dial is NOT_FOUND', async () => {
    const { device, control } = await connectedDevice();
    const began = Date.now();
    const console = openConsoleChannel(consoles, otto, device.id, shellOpen());
    const req = await channelRequest(control);
    control.send({ msg: { $case: 'channelAnswer', channelAnswer: { channelId: req.channelId } } });
    expect(await refusal(console)).toMatchObject({ code: 'timeout' });
    expect(Date.now() - began).toBeGreaterThanOrEqual(1400);
    const late = dialDeviceChannel(devices, device.token, req.channelId);
    expect((await late.status).code).toBe(grpc.status.NOT_FOUND);
  });

  it("refuses another device's dial with NOT_FOUND and keeps the channel for its device", async () => {
    const { device, control } = await connectedDevice();
    const stranger = await acceptedDevice(t, devices, 'relay-test');
    const console = openConsoleChannel(consoles, otto, device.id, shellOpen());
    const req = await channelRequest(control);
    expect((await dialDeviceChannel(devices, stranger.token, req.channelId).status).code).toBe(grpc.status.NOT_FOUND);
    dialDeviceChannel(devices, device.token, req.channelId);
    expect(await console.started).toBeDefined();
    console.cancel();
  });

  it('forgets the channel when the console gives up while waiting: the dial is NOT_FOUND, the attempt audited', async () => {
    const { device, control } = await connectedDevice();
    const console = openConsoleChannel(consoles, otto, device.id, shellOpen());
    const req = await channelRequest(control);
    console.cancel();
    const entry = await eventually(async () => (await t.hub.store.auditEntries({ limit: 1, subject: device.id, kindPrefix: 'session.' }))[0]);
    expect(entry).toMatchObject({ kind: 'session.refused', actor: 'otto', details: { code: 'cancelled' } });
    expect((await dialDeviceChannel(devices, device.token, req.channelId).status).code).toBe(grpc.status.NOT_FOUND);
  });

  it('refuses a malformed open with protocol before asking the device', async () => {
    const { device, control } = await connectedDevice();
    const r = await refusal(openConsoleChannel(consoles, otto, device.id, { kind: { $case: 'portForward', portForward: { host: '127.0.0.1', port: 0 } } }));
    expect(r).toMatchObject({ code: 'protocol', message: 'port_forward.port must be 1-65535, got 0' });
    expect(await refusal(openConsoleChannel(consoles, otto, device.id, { kind: undefined }))).toMatchObject({ code: 'protocol' });
    const rmdir = await refusal(openConsoleChannel(consoles, otto, device.id, { kind: { $case: 'file', file: { op: 'rmdir', path: '/data/x' } } }));
    expect(rmdir).toMatchObject({ code: 'protocol', message: 'file.op must be list, download, upload, mkdir or sha256, got "rmdir"' });
    expect(control.received.some((m) => m.msg?.$case === 'channelRequest')).toBe(false);
  });

  it('passes a mkdir to the device and records it as a file session "mkdir PATH"', async () => {
    const open = { kind: { $case: 'file' as const, file: { op: 'mkdir', path: '/data/new/folder', mode: 0o750 } } };
    const { console, dev, req, started } = await pair(otto, open);
    expect(req.open?.kind).toMatchObject(open.kind);
    expect(started.recorded).toBe(false);
    dev.send({ $case: 'file', file: { size: 0, mode: 0o750, mtimeMs: 1, offset: 0 } });
    dev.send(closeFrame('done'));
    dev.end();
    expect((await console.until('close')).map((f) => f.frame?.$case)).toEqual(['file', 'close']);
    expect(await endedSession(started.sessionId)).toMatchObject({ kind: 'file', detail: 'mkdir /data/new/folder', endReason: 'device closed (done)' });
  });

  it('fails at once with device-offline when the control stream ends before the answer', async () => {
    const { device, control } = await connectedDevice();
    const console = openConsoleChannel(consoles, otto, device.id, shellOpen());
    await channelRequest(control);
    control.call.cancel();
    expect(await refusal(console)).toMatchObject({ code: 'device-offline' });
  });
});

describe('relaying', () => {
  it('closes a device that sends past its credit with protocol, and tells the console', async () => {
    const { console, dev, started } = await pair();
    console.send(windowFrame(10));
    await dev.next();
    dev.send(dataFrame('0123456789'));
    dev.send(dataFrame('x'));
    const devFrames = await dev.until('close');
    expect(devFrames.find((f) => f.frame?.$case === 'error')?.frame).toMatchObject({ $case: 'error', error: { code: 'protocol' } });
    const consoleFrames = await console.until('close');
    expect(consoleFrames.map((f) => f.frame?.$case)).toEqual(['data', 'error', 'close']);
    expect((await dev.status).code).toBe(grpc.status.OK);
    const s = await endedSession(started.sessionId);
    expect(s.endReason).toMatch(/^protocol: the device sent 1 bytes of data with 0 bytes of credit left/);
  });

  it('closes a console that sends data without credit', async () => {
    const { console, dev } = await pair();
    console.send(dataFrame('typed too early'));
    expect((await console.until('close')).find((f) => f.frame?.$case === 'error')?.frame).toMatchObject({ error: { code: 'protocol' } });
    expect((await dev.until('close')).find((f) => f.frame?.$case === 'error')?.frame).toMatchObject({ error: { code: 'protocol' } });
  });

  it('ends the device side when the console drops', async () => {
    const { console, dev, started } = await pair();
    console.cancel();
    const frames = await dev.until('close');
    expect(frames.at(-1)?.frame).toEqual(closeFrame('the console went away'));
    expect((await dev.status).code).toBe(grpc.status.OK);
    const s = await endedSession(started.sessionId);
    expect(s.endReason).toMatch(/^the console went away/);
  });

  it('tells the console device-offline when the device channel drops', async () => {
    const { console, dev } = await pair();
    dev.cancel();
    const frames = await console.until('close');
    expect(frames.map((f) => f.frame?.$case)).toEqual(['error', 'close']);
    expect(frames[0].frame).toMatchObject({ error: { code: 'device-offline' } });
    expect((await console.status).code).toBe(grpc.status.OK);
  });

  it('forwards a close from the console and ends both calls OK', async () => {
    const { console, dev } = await pair();
    console.send(closeFrame('operator closed the tab'));
    expect((await dev.until('close')).at(-1)?.frame).toEqual(closeFrame('operator closed the tab'));
    expect((await dev.status).code).toBe(grpc.status.OK);
    expect((await console.status).code).toBe(grpc.status.OK);
  });
});
