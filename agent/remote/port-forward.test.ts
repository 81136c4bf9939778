import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createChannelPair } from './channel-pair';
import { checkPortTarget, type Resolver } from './port-allow';
import { PortForwarder } from './port-forward';
import { parseRemoteConfig, type PortForwardConfig } from './remote-config';
import { TestOperator } from './test-operator';

const pf = (allow: string[], enabled = true): PortForwardConfig => parseRemoteConfig({ portForward: { enabled, allow } }).portForward;

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
async function listen(onConnection: (s: Socket) => void): Promise<number> {
  const server = createServer((s) => {
    sockets.add(s);
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function forward(fwd: PortForwarder, host: string, port: number, opts: { keepGranting?: boolean; windowBytes?: number } = {}) {
  const pair = createChannelPair();
  const op = new TestOperator(pair.operator, opts);
  const done = fwd.open({ host, port }, pair.device);
  return { op, done };
}

describe('checkPortTarget', () => {
  const names: Record<string, string[]> = { 'db.lan': ['10.1.2.3'], 'evil.example': ['10.9.9.9'] };
  const resolve: Resolver = async (h) => {
    if (names[h]) return names[h];
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  const allowed = async (rules: string[], host: string, port: number): Promise<string> => {
    try {
      return (await checkPortTarget(pf(rules), host, port, resolve)).address;
    } catch (err) {
      return `refused:${(err as { code: string }).code}`;
    }
  };

  it('matches addresses, ports and wildcards', async () => {
    expect(await allowed(['127.0.0.1:8080'], '127.0.0.1', 8080)).toBe('127.0.0.1');
    expect(await allowed(['127.0.0.1:8080'], '127.0.0.1', 8081)).toBe('refused:not-allowed');
    expect(await allowed(['127.0.0.1:8080'], '10.0.0.1', 8080)).toBe('refused:not-allowed');
    expect(await allowed(['*:80'], '10.0.0.1', 80)).toBe('10.0.0.1');
    expect(await allowed(['*:80'], '10.0.0.1', 81)).toBe('refused:not-allowed');
    expect(await allowed(['10.0.0.1:*'], '10.0.0.1', 5)).toBe('10.0.0.1');
    expect(await allowed(['[::1]:22'], '::1', 22)).toBe('::1');
    expect(await allowed(['127.0.0.1:22'], '::ffff:127.0.0.1', 22)).toBe('127.0.0.1');
  });

  it('treats localhost as loopback on both sides, never through DNS', async () => {
    expect(await allowed(['127.0.0.1:8080'], 'localhost', 8080)).toBe('127.0.0.1');
    expect(await allowed(['localhost:5432'], '127.0.0.1', 5432)).toBe('127.0.0.1');
    expect(await allowed(['localhost:5432'], '[::1]', 5432)).toBe('::1');
    expect(await allowed(['localhost:5432'], '0.0.0.0', 5432)).toBe('refused:not-allowed');
    expect(await allowed(['localhost:5432'], '10.0.0.1', 5432)).toBe('refused:not-allowed');
  });

  it('compares the resolved address of names, so another name cannot sneak in', async () => {
    expect(await allowed(['db.lan:5432'], 'db.lan', 5432)).toBe('10.1.2.3');
    expect(await allowed(['db.lan:5432'], '10.1.2.3', 5432)).toBe('10.1.2.3');
    expect(await allowed(['db.lan:5432'], 'evil.example', 5432)).toBe('refused:not-allowed');
    expect(await allowed(['db.lan:5432'], 'nowhere.example', 5432)).toBe('refused:connect-failed');
    expect(await allowed(['127.0.0.1:1'], 'bad host!', 1)).toBe('refused:not-allowed');
  });

  it('refuses everything when disabled', async () => {
    await expect(checkPortTarget(pf(['*:*'], false), '127.0.0.1', 80, resolve)).rejects.toMatchObject({ code: 'disabled' });
  });
});

describe('PortForwarder', () => {
  it('relays both ways to an allowed TCP server, with half-close', async () => {
    const port = await listen((s) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end('bye'));
    });
    const fwd = new PortForwarder(pf([`localhost:${port}`]));
    const { op, done } = forward(fwd, 'localhost', port);
    op.write('ping');
    await op.until(() => op.output === 'ping', 5000, 'echo');
    op.send({ $case: 'eof', eof: {} });
    await done;
    expect(await op.closed).toBe('done');
    expect(op.output).toBe('pingbye');
    expect(op.frameOf('eof')).toBeDefined();
  });

  it('refuses a target outside the allow list without connecting', async () => {
    let connections = 0;
    const port = await listen(() => connections++);
    const fwd = new PortForwarder(pf([`127.0.0.1:${port + 1}`]));
    const { op } = forward(fwd, '127.0.0.1', port);
    await op.closed;
    expect(op.frameOf('error')?.error).toMatchObject({ code: 'not-allowed', message: expect.stringContaining('allow list') });
    expect(connections).toBe(0);
  });

  it('keeps other connections alive when one is reset or refused', async () => {
    const port = await listen((s) => {
      s.on('error', () => undefined);
      s.on('data', (d) => (d.toString() === 'reset' ? s.resetAndDestroy() : s.write(d)));
    });
    const closedPort = await listen(() => undefined);
    await new Promise((r) => servers.pop()!.close(r)); // now nothing listens there
    const fwd = new PortForwarder(pf([`127.0.0.1:${port}`, `127.0.0.1:${closedPort}`]));
    const a = forward(fwd, '127.0.0.1', port);
    const b = forward(fwd, '127.0.0.1', port);
    const c = forward(fwd, '127.0.0.1', closedPort);
    a.op.write('one');
    b.op.write('two');
    await a.op.until(() => a.op.output === 'one');
    await b.op.until(() => b.op.output === 'two');
    a.op.write('reset');
    await a.done;
    await a.op.closed;
    expect(a.op.frameOf('error')?.error.message).toMatch(/ECONNRESET/);
    await c.op.closed;
    expect(c.op.frameOf('error')?.error).toMatchObject({ code: 'connect-failed', message: expect.stringContaining('ECONNREFUSED') });
    b.op.write('-still-here');
    await b.op.until(() => b.op.output === 'two-still-here', 5000, 'b still echoing');
    expect(b.op.closedWith).toBeUndefined();
    b.op.peer.close('done with it');
    await b.done;
  });

  it('carries bulk data to the target intact, paced by credit', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const hash = createHash('sha256');
    let got = 0;
    const received = new Promise<void>((resolve) => {
      void listen((s) => {
        s.on('data', (d) => {
          hash.update(d);
          got += d.byteLength;
        });
        s.on('end', () => {
          s.end();
          resolve();
        });
      }).then((port) => {
        const fwd = new PortForwarder(pf([`127.0.0.1:${port}`]));
        const { op } = forward(fwd, '127.0.0.1', port);
        op.write(data);
        void op.drained().then(() => op.send({ $case: 'eof', eof: {} }));
      });
    });
    await received;
    expect(got).toBe(data.byteLength);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('brings the target\'s bytes to the operator intact when reads outrun the credit (read buffer reused)', async () => {
    // The device reads its target 256 KiB at a time into one buffer per
    // connection; a window of 100 kB makes it hold most of each read until
    // credit comes back, and those bytes must not be overwritten meanwhile.
    const data = randomBytes(4 * 1024 * 1024);
    const port = await listen((s) => s.end(data));
    const windowBytes = 100_000;
    const fwd = new PortForwarder(pf([`127.0.0.1:${port}`]));
    const { op, done } = forward(fwd, '127.0.0.1', port, { windowBytes });
    await op.until(() => !!op.frameOf('eof'), 10_000, 'the eof after the data');
    expect(op.received).toBe(data.length);
    expect(createHash('sha256').update(op.data()).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    op.send({ $case: 'eof', eof: {} });
    await done;
  });

  it('slows the target down when the operator stops granting (measured)', async () => {
    let sent = 0;
    let stop = false;
    const port = await listen((s) => {
      s.on('error', () => undefined);
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = (): void => {
        while (!stop && s.write(chunk)) sent += chunk.byteLength;
        if (!stop) s.once('drain', pump);
      };
      pump();
    });
    const windowBytes = 64 * 1024;
    const fwd = new PortForwarder(pf([`127.0.0.1:${port}`]), { windowBytes });
    const { op, done } = forward(fwd, '127.0.0.1', port, { keepGranting: false, windowBytes });
    await op.until(() => op.received >= windowBytes, 5000, 'first window');
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    // Only socket buffers (kernel, a few MB) sit between: not the 100s of MB an unpaced pump would push in a second.
    expect(op.received).toBe(windowBytes);
    expect(sent).toBeLessThan(48 * 1024 * 1024);
    console.log(`port-forward backpressure: target managed to send ${(sent / 1048576).toFixed(1)} MiB in 1 s, operator got ${op.received} B`);
    op.peer.close('stop');
    await done;
  });
});
