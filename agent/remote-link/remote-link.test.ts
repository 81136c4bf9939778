import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelFrame, ChannelOpen } from '../../proto/gen/fleet/v1/channel';
import type { HubMessage } from '../../proto/gen/fleet/v1/device';
import { DeviceAgent } from '../agent';
import { parseRemoteConfig } from '../remote/remote-config';
import { RemoteSessions } from '../remote/remote-sessions';
import { makeTestCertificate, ScriptedHub, type ChannelCall, type TestCertificate } from '../testing/scripted-hub';
import { startSimFleet, type SimFleet } from '../testing/sim-fleet';
import { waitFor } from '../testing/wait-for';
import type { SimRemoteConfig } from '../sim/sim-remote';
import { RemoteLink, withRemoteLink } from './remote-link';

// The agent's side of remote sessions over real TLS gRPC, against the
// scripted hub: a channel request on the control stream is answered
// (accepted, or refused with the device's code), an accepted one is dialled
// back with fleet-channel-id and served, frames cross 1:1 both ways, and the
// hub ending the call ends the session behind it.

let cert: TestCertificate;
const cleanups: (() => Promise<void> | void)[] = [];
beforeAll(() => {
  cert = makeTestCertificate();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const REMOTE: SimRemoteConfig = {
  shell: { enabled: true, command: ['/bin/sh'] },
  files: { enabled: true, roots: ['files'] },
  portForward: { enabled: true, allow: ['127.0.0.1:*'] },
};

async function fleet(remote?: SimRemoteConfig): Promise<SimFleet> {
  const f = await startSimFleet({ cert, trustedKeyPem: '', prefix: 'remote-link-', sim: { remote } });
  cleanups.push(() => f.close());
  return f;
}

/** The hub's view of one channel: every frame the device sent, and whether it ended its half. */
class HubEnd {
  frames: ChannelFrame['frame'][] = [];
  ended = false;
  constructor(readonly call: ChannelCall) {
    call.on('data', (m: ChannelFrame) => this.frames.push(m.frame));
    call.on('end', () => {
      this.ended = true;
      call.end();
    });
    call.on('error', () => (this.ended = true));
  }
  send(frame: NonNullable<ChannelFrame['frame']>): void {
    this.call.write({ frame });
  }
  text(): string {
    return Buffer.concat(this.frames.flatMap((f) => (f?.$case === 'data' ? [f.data] : []))).toString();
  }
  of<K extends NonNullable<ChannelFrame['frame']>['$case']>(kind: K): Extract<NonNullable<ChannelFrame['frame']>, { $case: K }>[] {
    return this.frames.filter((f) => f?.$case === kind) as Extract<NonNullable<ChannelFrame['frame']>, { $case: K }>[];
  }
}

async function open(f: SimFleet, kind: ChannelOpen['kind']): Promise<HubEnd> {
  const req = f.hub.requestChannel(f.deviceId, { kind });
  const answer = await req.answer;
  expect(answer).toEqual({ channelId: req.channelId });
  return new HubEnd(await req.call);
}

async function refusal(f: SimFleet, kind: ChannelOpen['kind']): Promise<{ code: string; message: string } | undefined> {
  const req = f.hub.requestChannel(f.deviceId, { kind });
  return (await req.answer).refused;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('remote link (agent ↔ hub channels)', () => {
  it('accepts a shell, dials the channel back and echoes through a real pty; exit ends the call', async () => {
    const f = await fleet(REMOTE);
    const ch = await open(f, { $case: 'shell', shell: { operator: 'alice', cols: 100, rows: 30 } });
    await waitFor('the device grants its window', () => ch.of('window').length > 0);
    ch.send({ $case: 'window', window: { bytes: 1 << 20 } });
    ch.send({ $case: 'data', data: Buffer.from('echo hello-$((6*7)); stty size\n') });
    await waitFor('echo', () => /hello-42/.test(ch.text()) && /30 100/.test(ch.text()));
    ch.send({ $case: 'resize', resize: { cols: 120, rows: 40 } });
    ch.send({ $case: 'data', data: Buffer.from('stty size; exit 3\n') });
    await waitFor('exit and the end of the call', () => ch.ended);
    expect(ch.text()).toMatch(/40 120/);
    expect(ch.of('exit')[0]?.exit.code).toBe(3);
    expect(ch.frames.at(-1)).toEqual({ $case: 'close', close: { reason: 'exit' } });
    await waitFor('session gone', () => f.sim.devices[0].remote.openChannels === 0);
  });

  it('refuses on the control stream with the device code', async () => {
    const f = await fleet({ ...REMOTE, shell: { enabled: true, command: ['/bin/sh'], maxSessions: 1 } });
    expect(await refusal(f, { $case: 'portForward', portForward: { host: '10.1.2.3', port: 22 } })).toMatchObject({ code: 'not-allowed' });
    expect(await refusal(f, { $case: 'file', file: { op: 'download', path: '/etc/passwd' } })).toMatchObject({ code: 'outside-roots' });
    expect(await refusal(f, { $case: 'file', file: { op: 'download', path: `${f.dev}/files/../identity.key` } })).toMatchObject({ code: 'outside-roots' });
    expect(await refusal(f, { $case: 'file', file: { op: 'chmod', path: `${f.dev}/files/x` } })).toMatchObject({ code: 'protocol' });
    expect(await refusal(f, { $case: 'file', file: { op: 'upload', path: `${f.dev}/files/x` } })).toMatchObject({ code: 'protocol', message: expect.stringMatching(/size/) });
    expect(await refusal(f, undefined)).toMatchObject({ code: 'protocol' });
    // One shell is the limit: the second is refused before anything starts.
    const first = await open(f, { $case: 'shell', shell: { operator: 'alice' } });
    expect(await refusal(f, { $case: 'shell', shell: { operator: 'bob' } })).toMatchObject({ code: 'too-many-sessions' });
    first.send({ $case: 'close', close: { reason: 'bye' } });
    await waitFor('first shell ended', () => first.ended);
    expect(f.hub.device(f.deviceId).channelAnswers.filter((a) => a.refused)).toHaveLength(7);
  });

  it('refuses everything as disabled when the device has no remote config', async () => {
    const f = await fleet();
    expect(await refusal(f, { $case: 'shell', shell: { operator: 'alice' } })).toMatchObject({ code: 'disabled' });
    expect(await refusal(f, { $case: 'file', file: { op: 'list', path: '/' } })).toMatchObject({ code: 'disabled' });
    expect(await refusal(f, { $case: 'portForward', portForward: { host: '127.0.0.1', port: 80 } })).toMatchObject({ code: 'disabled' });
  });

  it('the hub ending the call (a dropped console) kills the shell', async () => {
    const f = await fleet(REMOTE);
    const ch = await open(f, { $case: 'shell', shell: { operator: 'alice' } });
    ch.send({ $case: 'window', window: { bytes: 1 << 20 } });
    await waitFor('credit', () => ch.of('window').length > 0);
    ch.send({ $case: 'data', data: Buffer.from('echo pid=$$\n') });
    await waitFor('pid', () => /pid=\d+/.test(ch.text()));
    const pid = Number(/pid=(\d+)/.exec(ch.text())![1]);
    expect(alive(pid)).toBe(true);
    ch.call.end(); // no close frame: the call just ends
    await waitFor('shell killed', () => !alive(pid), 5_000);
    await waitFor('session gone', () => f.sim.devices[0].remote.openChannels === 0);
  });

  it('uploads and downloads a file through the channel with its sha256', async () => {
    const f = await fleet(REMOTE);
    const body = Buffer.alloc(300_000, 'fleet');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const path = join(f.dev, 'files', 'up.bin');
    const up = await open(f, { $case: 'file', file: { op: 'upload', path, size: body.length, mode: 0o640, transferId: 't1' } });
    await waitFor('upload accepted', () => up.of('file').length > 0 && up.of('window').length > 0);
    expect(up.of('file')[0].file.offset).toBe(0);
    let sent = 0;
    const pump = (): void => {
      const credit = up.of('window').reduce((n, w) => n + w.window.bytes, 0);
      while (sent < body.length && sent < credit) {
        const n = Math.min(64 * 1024, credit - sent, body.length - sent);
        up.send({ $case: 'data', data: body.subarray(sent, sent + n) });
        sent += n;
      }
      if (sent === body.length) up.send({ $case: 'eof', eof: { sha256 } });
    };
    await waitFor('all sent', () => {
      if (sent < body.length) pump();
      return sent === body.length;
    });
    await waitFor('upload done', () => up.ended);
    expect(up.of('error')).toEqual([]);
    expect(up.of('eof')[0].eof.sha256).toBe(sha256);
    expect(readFileSync(path).equals(body)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o640);

    const down = await open(f, { $case: 'file', file: { op: 'download', path } });
    down.send({ $case: 'window', window: { bytes: 1 << 20 } });
    await waitFor('download done', () => down.ended);
    expect(down.of('file')[0].file).toMatchObject({ size: body.length, mode: 0o640, offset: 0 });
    expect(createHash('sha256').update(Buffer.concat(down.of('data').map((d) => d.data))).digest('hex')).toBe(sha256);
    expect(down.of('eof')[0].eof.sha256).toBe(sha256);

    const list = await open(f, { $case: 'file', file: { op: 'list', path: join(f.dev, 'files') } });
    await waitFor('listing', () => list.ended);
    expect(list.of('listing')[0].listing.entries.map((e) => e.name)).toEqual(['up.bin']);
  });

  describe('port forward', () => {
    let server: Server;
    let port = 0;
    beforeAll(async () => {
      server = createServer((s) => s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d]))));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('carries a TCP connection both ways', async () => {
      const f = await fleet(REMOTE);
      const ch = await open(f, { $case: 'portForward', portForward: { host: '127.0.0.1', port } });
      ch.send({ $case: 'window', window: { bytes: 1 << 20 } });
      await waitFor('credit', () => ch.of('window').length > 0);
      ch.send({ $case: 'data', data: Buffer.from('ping') });
      await waitFor('echo from the target', () => ch.text() === 'echo:ping');
      ch.send({ $case: 'close', close: { reason: 'tunnel closed' } });
      await waitFor('ended', () => ch.ended);
    });
  });

  it('a relative file root is inside each simulated device', async () => {
    const f = await fleet(REMOTE);
    writeFileSync(join(f.dev, 'files', 'a.txt'), 'a');
    expect(await refusal(f, { $case: 'file', file: { op: 'download', path: join(f.dir, 'dev-00002', 'files', 'a.txt') } })).toMatchObject({ code: 'outside-roots' });
  });

  it('a real agent (fleet-agent run wiring): channel requests go to the link, everything else to the update engine', async () => {
    const hub = new ScriptedHub(cert, { heartbeatIntervalMs: 200 });
    await hub.listen();
    const dir = mkdtempSync(join(tmpdir(), 'remote-link-run-'));
    const engine: HubMessage[] = [];
    const link: RemoteLink = new RemoteLink({ sessions: new RemoteSessions(parseRemoteConfig({ shell: { enabled: true, command: '/bin/sh' } })), dial: (id) => agent.channel(id) });
    const agent: DeviceAgent = new DeviceAgent({
      hub: hub.address,
      caPem: cert.certPem,
      stateDir: dir,
      identity: () => ({ device_type: 't' }),
      inventory: () => ({}),
      backoff: { baseMs: 50, maxMs: 300 },
      control: withRemoteLink({ online: () => undefined, offline: () => undefined, message: (m) => engine.push(m) }, link),
    });
    cleanups.push(async () => {
      await link.stop('test over');
      await agent.stop();
      hub.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    agent.start();
    await waitFor('pending', () => hub.devices.size === 1);
    for (const k of hub.devices.keys()) hub.setAdmission(k, 'accepted');
    await waitFor('online', () => agent.state === 'online');
    const f = { hub, deviceId: agent.deviceId } as SimFleet;
    const ch = await open(f, { $case: 'shell', shell: { operator: 'alice', command: 'echo run-$((2+3))' } });
    ch.send({ $case: 'window', window: { bytes: 4096 } });
    await waitFor('command output and end', () => ch.ended);
    expect(ch.text()).toBe('run-5\n');
    hub.sendTo(agent.deviceId, { msg: { $case: 'abort', abort: { deploymentId: 'd1' } } });
    await waitFor('the engine got the abort', () => engine.length === 1);
    expect(engine[0].msg?.$case).toBe('abort');
  });
});
