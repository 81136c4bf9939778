import { createHash, randomBytes, randomInt } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelFrame, ChannelOpen } from '../../proto/gen/fleet/v1/channel';
import { openConsoleChannel, type ConsoleChannel } from '../../hub/testing/channel-clients';
import { Operator } from '../support/operator';
import { freePort, startHubProgram, startProgram, tempDir, waitFor, type HubProgram, type Program } from '../support/processes';

// Remote sessions end to end with real processes on loopback: a fleet-hub
// process relays a console's ConsoleService.Channel to a `fleet-agent sim`
// process whose device serves remote sessions (--remote-config, files in
// the device's own folder); a second sim process runs without a remote
// config (everything refused as disabled). The console side is a plain
// gRPC client (hub/testing/channel-clients.ts).

type Frame = NonNullable<ChannelFrame['frame']>;

const dirs = { hub: tempDir('remote-e2e-hub'), on: tempDir('remote-e2e-on'), off: tempDir('remote-e2e-off') };
let hub: HubProgram;
let simOn: Program;
let simOff: Program;
let operator: Operator;
let deviceOn = '';
let deviceOff = '';
/** The enabled device's own file root (a relative root in --remote-config). */
let files = '';

beforeAll(async () => {
  hub = await startHubProgram(dirs.hub.path, await freePort());
  const caFile = join(dirs.hub.path, 'hub.crt');
  const remoteFile = join(dirs.on.path, 'remote.json');
  writeFileSync(
    remoteFile,
    JSON.stringify({
      shell: { enabled: true, command: ['/bin/bash', '--norc', '--noprofile'] },
      files: { enabled: true, roots: ['files'] },
      portForward: { enabled: true, allow: ['127.0.0.1:*'] },
    }),
  );
  const common = ['--hub', hub.address, '--ca', caFile, '--devices', '1', '--spread-ms', '0'];
  simOn = startProgram('fleet-agent', ['sim', ...common, '--state', join(dirs.on.path, 'sims'), '--device-type', 'remote-on', '--remote-config', remoteFile]);
  simOff = startProgram('fleet-agent', ['sim', ...common, '--state', join(dirs.off.path, 'sims'), '--device-type', 'remote-off', '--start-index', '2']);
  files = join(dirs.on.path, 'sims', 'dev-00001', 'files');
  operator = new Operator(hub.address, hub.adminToken, hub.certPem);
  await waitFor('both devices enrolled', async () => (await operator.allDevices()).length === 2, 20_000, 100);
  await operator.acceptAllPending();
  const devices = await waitFor('both devices online', async () => {
    const all = await operator.allDevices();
    return all.filter((d) => d.online).length === 2 ? all : undefined;
  }, 20_000, 100);
  deviceOn = devices.find((d) => d.identity.device_type === 'remote-on')!.id;
  deviceOff = devices.find((d) => d.identity.device_type === 'remote-off')!.id;
}, 60_000);

afterAll(async () => {
  operator?.close();
  await Promise.all([simOn?.stop(), simOff?.stop()]);
  await hub?.stop();
  Object.values(dirs).forEach((d) => d.remove());
}, 30_000);

function channel(deviceId: string, kind: ChannelOpen['kind']): ConsoleChannel {
  return openConsoleChannel(operator.client, operator.token, deviceId, { kind });
}

function frames<K extends Frame['$case']>(ch: ConsoleChannel, kind: K): Extract<Frame, { $case: K }>[] {
  return ch.received.map((f) => f.frame).filter((f) => f?.$case === kind) as Extract<Frame, { $case: K }>[];
}

function text(ch: ConsoleChannel, kind: 'data' | 'stderr' = 'data'): string {
  return Buffer.concat(ch.received.flatMap((f) => (f.frame?.$case === 'data' && kind === 'data' ? [f.frame.data] : f.frame?.$case === 'stderr' && kind === 'stderr' ? [f.frame.stderr] : []))).toString();
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const ended = (ch: ConsoleChannel): Promise<unknown> => Promise.race([ch.status, new Promise((_, fail) => setTimeout(() => fail(new Error(`channel did not end; frames: ${JSON.stringify(ch.received.map((f) => f.frame?.$case))}`)), 10_000))]);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The device's first window grant: the hub closes a side that sends data before it has credit. */
async function credit(ch: ConsoleChannel): Promise<void> {
  await waitFor('the device grants credit', () => frames(ch, 'window').length > 0);
}

/** Sends `body` within the credit the device grants, then eof with its sha256. */
async function sendWithinCredit(ch: ConsoleChannel, body: Buffer): Promise<void> {
  let sent = 0;
  await waitFor('upload sent within credit', () => {
    const credit = frames(ch, 'window').reduce((n, w) => n + w.window.bytes, 0);
    while (sent < body.length && sent < credit) {
      const n = Math.min(64 * 1024, credit - sent, body.length - sent);
      ch.send({ $case: 'data', data: body.subarray(sent, sent + n) });
      sent += n;
    }
    return sent === body.length;
  }, 10_000, 10);
  ch.send({ $case: 'eof', eof: { sha256: sha256(body) } });
}

describe('remote sessions through a real hub to a fleet-agent sim process', () => {
  it('shell: a typed command is run and echoed, resize reaches the pty, exit ends the channel', async () => {
    const ch = channel(deviceOn, { $case: 'shell', shell: { operator: '', cols: 80, rows: 24 } });
    expect(await ch.started).toBeTruthy();
    ch.send({ $case: 'window', window: { bytes: 1 << 20 } });
    await credit(ch);
    const tag = `hello-${randomInt(1_000_000)}`;
    ch.send({ $case: 'data', data: Buffer.from(`echo ${tag}-$((6*7)); stty size\n`) });
    await waitFor('the shell ran the echo', () => text(ch).includes(`${tag}-42`) && text(ch).includes('24 80'));
    ch.send({ $case: 'resize', resize: { cols: 132, rows: 43 } });
    ch.send({ $case: 'data', data: Buffer.from('stty size; exit 0\n') });
    await ended(ch);
    expect(text(ch)).toContain('43 132');
    expect(frames(ch, 'exit')).toEqual([{ $case: 'exit', exit: { code: 0 } }]);
    expect(ch.received.at(-1)?.frame?.$case).toBe('close');
  });

  it('command session: stdout, stderr and the exit status', async () => {
    const ch = channel(deviceOn, { $case: 'shell', shell: { operator: '', command: 'echo out; echo err >&2; exit 7' } });
    expect(await ch.started).toBeTruthy();
    ch.send({ $case: 'window', window: { bytes: 1 << 20 } });
    await ended(ch);
    expect(text(ch)).toBe('out\n');
    expect(text(ch, 'stderr')).toBe('err\n');
    expect(frames(ch, 'exit')[0]?.exit.code).toBe(7);
  });

  it('files: an upload lands with its sha256 and mode, and downloads back the same', async () => {
    const body = randomBytes(1_500_000); // several windows
    const path = join(files, 'upload.bin');
    const up = channel(deviceOn, { $case: 'file', file: { op: 'upload', path, size: body.length, mode: 0o640, transferId: 'e2e-1' } });
    expect(await up.started).toBeTruthy();
    await waitFor('upload accepted', () => frames(up, 'file').length > 0);
    expect(frames(up, 'file')[0].file.offset).toBe(0);
    await sendWithinCredit(up, body);
    await ended(up);
    expect(frames(up, 'error')).toEqual([]);
    expect(frames(up, 'eof')[0]?.eof.sha256).toBe(sha256(body));
    expect(sha256(readFileSync(path))).toBe(sha256(body));
    expect(statSync(path).mode & 0o777).toBe(0o640);

    const down = channel(deviceOn, { $case: 'file', file: { op: 'download', path } });
    expect(await down.started).toBeTruthy();
    down.send({ $case: 'window', window: { bytes: body.length } });
    await ended(down);
    const got = Buffer.concat(frames(down, 'data').map((d) => d.data));
    expect(sha256(got)).toBe(sha256(body));
    expect(frames(down, 'eof')[0]?.eof.sha256).toBe(sha256(body));
    expect(frames(down, 'file')[0]?.file).toMatchObject({ size: body.length, mode: 0o640 });
  });

  describe('port forward', () => {
    let web: Server;
    let port = 0;
    const marker = `page-${randomInt(1_000_000)}`;
    beforeAll(async () => {
      web = createServer((_req, res) => res.end(`<h1>${marker}</h1>`));
      await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
      port = (web.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((r) => web.close(() => r())));

    it('fetches a page from an HTTP server on the device side through the channel', async () => {
      const ch = channel(deviceOn, { $case: 'portForward', portForward: { host: '127.0.0.1', port } });
      expect(await ch.started).toBeTruthy();
      ch.send({ $case: 'window', window: { bytes: 1 << 20 } });
      await credit(ch);
      ch.send({ $case: 'data', data: Buffer.from(`GET / HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`) });
      await waitFor('the page', () => text(ch).includes(marker));
      expect(text(ch)).toMatch(/^HTTP\/1\.1 200 OK/);
      ch.send({ $case: 'close', close: { reason: 'done' } });
      await ended(ch);
    });
  });

  it('refusals: a device without a remote config refuses as disabled; traversal is outside-roots', async () => {
    const refusal = async (deviceId: string, kind: ChannelOpen['kind']): Promise<string | undefined> => {
      const ch = channel(deviceId, kind);
      expect(await ch.started).toBeUndefined();
      await ended(ch);
      return frames(ch, 'error')[0]?.error.code;
    };
    expect(await refusal(deviceOff, { $case: 'shell', shell: { operator: '' } })).toBe('disabled');
    expect(await refusal(deviceOn, { $case: 'file', file: { op: 'download', path: `${files}/../identity.key` } })).toBe('outside-roots');
    expect(await refusal(deviceOn, { $case: 'file', file: { op: 'download', path: '/etc/passwd' } })).toBe('outside-roots');
    expect(await refusal(deviceOn, { $case: 'portForward', portForward: { host: '10.255.255.1', port: 22 } })).toBe('not-allowed');
  });

  it('a dropped console call ends the device-side shell', async () => {
    const ch = channel(deviceOn, { $case: 'shell', shell: { operator: '' } });
    expect(await ch.started).toBeTruthy();
    ch.send({ $case: 'window', window: { bytes: 1 << 20 } });
    await credit(ch);
    ch.send({ $case: 'data', data: Buffer.from('echo pid=$$\n') });
    const pid = Number((await waitFor('the shell pid', () => /pid=(\d+)/.exec(text(ch))))[1]);
    expect(alive(pid)).toBe(true);
    ch.cancel(); // the console goes away without a close frame
    await waitFor(`shell ${pid} gone`, () => !alive(pid), 10_000);
  });
});
