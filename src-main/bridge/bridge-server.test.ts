import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CONSOLE_API_METHODS, type ConnectionState, type ConsoleApi, type ConsoleEvent, type DevicePage } from '../common/console-api';
import { BRIDGE_PROTOCOL, SECRET_PROTOCOL_PREFIX, startBridge, type Bridge } from './bridge-server';

const state: ConnectionState = {
  phase: 'online', hub: '127.0.0.1:1', fingerprint: 'AA', operator: 'admin', role: 'admin', hubId: 'h',
  revision: 1, error: '', syncedAtMs: 0, embedded: true,
};

/** A tiny ConsoleApi: enough to see calls, errors and events cross the bridge. */
function fakeApi(): ConsoleApi {
  const page: DevicePage = { total: 0, offset: 0, rows: [], counts: { pending: 0, accepted: 0, rejected: 0 } };
  return {
    connection: {
      state: async () => state,
      probe: async (hub) => ({ hub, fingerprint: 'AB:CD', subject: 'CN=hub', trusted: false }),
      connect: async () => state,
      disconnect: async () => ({ ...state, phase: 'disconnected' }),
    },
    devices: {
      query: async (q) => ({ ...page, offset: q.offset ?? 0 }),
      get: async (id) => {
        if (id === 'boom') throw new Error('device store unavailable');
        return null;
      },
      accept: async (ids) => ({ changed: ids, notFound: [] }),
      reject: async (ids) => ({ changed: [], notFound: ids }),
      acceptAllMatching: async () => ({ changed: [], notFound: [] }),
    },
    artifacts: {
      list: async () => [],
      uploadBegin: async () => ({ uploadId: 'u', chunkBytes: 4, maxInFlight: 1 }),
      // Echoes a digest of the decoded bytes, so a test sees exactly what arrived.
      uploadChunk: async (_id, offset, data) => ({ bytesSent: offset + Buffer.from(data, 'base64').length, size: Buffer.from(data, 'base64').reduce((a, b) => (a * 31 + b) % 1_000_000_007, 0) }),
      uploadFinish: async () => {
        throw new Error('not used here');
      },
      uploadCancel: async () => {},
    },
    deployments: {
      create: async () => {
        throw new Error('not used here');
      },
      list: async () => [],
      get: async (id) => {
        throw new Error(`no deployment ${id}`);
      },
      abort: async (id) => {
        throw new Error(`no deployment ${id}`);
      },
      continue: async (id) => {
        throw new Error(`no deployment ${id}`);
      },
      pause: async (id) => {
        throw new Error(`no deployment ${id}`);
      },
      resume: async (id) => {
        throw new Error(`no deployment ${id}`);
      },
      nextWindow: async () => ({ nextMs: 0, error: 'not used here' }),
      deviceHistory: async () => [],
      deviceLog: async () => [],
    },
    groups: {
      list: async () => [],
      setMembers: async (name, change) => ({ name, deviceIds: change.add ?? [] }),
      listDynamic: async () => [],
      getDynamic: async (name) => {
        throw new Error(`no dynamic group ${name}`);
      },
      createDynamic: async () => {
        throw new Error('not used here');
      },
      deleteDynamic: async (name) => {
        throw new Error(`no dynamic group ${name}`);
      },
      preview: async () => ({ matching: 0, sample: [] }),
      setWindow: async () => [],
      windows: async () => [],
    },
    remote: notUsed('remote'),
  };
}

/** A namespace these tests never call: every method fails. */
function notUsed<K extends keyof ConsoleApi>(ns: K): ConsoleApi[K] {
  const methods = CONSOLE_API_METHODS.filter((m) => m.startsWith(`${ns}.`)).map((m) => m.slice(ns.length + 1));
  return Object.fromEntries(methods.map((m) => [m, async () => Promise.reject(new Error(`${ns}.${m} is not used here`))])) as unknown as ConsoleApi[K];
}

let dir: string;
let bridge: Bridge;
let listeners: Set<(e: ConsoleEvent) => void>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bridge-test-'));
  await mkdir(join(dir, 'web', 'assets'), { recursive: true });
  await writeFile(join(dir, 'web', 'index.html'), '<!doctype html><title>fleet</title>');
  await writeFile(join(dir, 'web', 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'outside.txt'), 'SECRET-OUTSIDE');
  listeners = new Set();
  bridge = await startBridge({
    api: fakeApi(),
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    staticDir: join(dir, 'web'),
  });
});

afterEach(async () => {
  await bridge.close();
  await rm(dir, { recursive: true, force: true });
});

const secretOf = (b: Bridge) => new URL(b.url).hash.replace('#secret=', '');
const originOf = (b: Bridge) => new URL(b.url).origin;

function open(opts: { secret?: string; origin?: string } = {}): Promise<WebSocket> {
  const protocols = [BRIDGE_PROTOCOL];
  if (opts.secret !== undefined) protocols.push(SECRET_PROTOCOL_PREFIX + opts.secret);
  const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/api`, protocols, { origin: opts.origin ?? originOf(bridge) });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))));
}

async function call(ws: WebSocket, message: unknown): Promise<Record<string, unknown>> {
  const reply = nextMessage(ws);
  ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  return reply;
}

function httpGet(path: string, host?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: bridge.port, path, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bridge WebSocket', () => {
  it('prints a loopback URL with a secret of at least 128 bits', () => {
    expect(bridge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#secret=[A-Za-z0-9_-]+$/);
    expect(Buffer.from(secretOf(bridge), 'base64url').length).toBeGreaterThanOrEqual(16);
  });

  it('refuses a missing or wrong secret', async () => {
    await expect(open()).rejects.toThrow('HTTP 401');
    await expect(open({ secret: 'wrong' })).rejects.toThrow('HTTP 401');
    await expect(open({ secret: secretOf(bridge).slice(0, -1) })).rejects.toThrow('HTTP 401');
  });

  it('refuses a foreign Origin even with the right secret', async () => {
    await expect(open({ secret: secretOf(bridge), origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(open({ secret: secretOf(bridge), origin: 'http://localhost:1' })).rejects.toThrow('HTTP 403');
  });

  it('carries calls, results and errors', async () => {
    const ws = await open({ secret: secretOf(bridge) });
    expect(ws.protocol).toBe(BRIDGE_PROTOCOL);
    expect(await call(ws, { id: 1, method: 'connection.probe', args: ['h:1'] })).toEqual({
      id: 1, result: { hub: 'h:1', fingerprint: 'AB:CD', subject: 'CN=hub', trusted: false },
    });
    expect(await call(ws, { id: 2, method: 'devices.accept', args: [['a', 'b']] })).toEqual({ id: 2, result: { changed: ['a', 'b'], notFound: [] } });
    expect(await call(ws, { id: 3, method: 'devices.get', args: ['x'] })).toEqual({ id: 3, result: null });
    expect(await call(ws, { id: 4, method: 'devices.get', args: ['boom'] })).toEqual({ id: 4, error: 'device store unavailable' });
    ws.close();
  });

  it('refuses unknown methods and bad messages without dropping the client', async () => {
    const ws = await open({ secret: secretOf(bridge) });
    expect(await call(ws, { id: 1, method: 'devices.constructor', args: [] })).toEqual({ id: 1, error: 'unknown method: devices.constructor' });
    expect(await call(ws, { id: 2, method: '__proto__', args: [] })).toEqual({ id: 2, error: 'unknown method: __proto__' });
    expect(await call(ws, { id: 3, method: 'devices.get', args: 'x' })).toEqual({ id: 3, error: 'arguments of devices.get must be an array' });
    expect(await call(ws, '{not json')).toEqual({ id: null, error: 'malformed JSON: send {id, method, args}' });
    expect(await call(ws, '[1,2]')).toMatchObject({ id: null, error: expect.stringContaining('JSON object') });
    expect(await call(ws, { method: 'devices.get' })).toMatchObject({ id: null, error: expect.stringContaining('"id"') });
    expect(await call(ws, { id: 5, method: 'connection.state', args: [] })).toEqual({ id: 5, result: state });
    ws.close();
  });

  it('pushes events to connected clients and stops on close', async () => {
    const ws = await open({ secret: secretOf(bridge) });
    await call(ws, { id: 1, method: 'connection.state', args: [] }); // subscribed by now
    const event: ConsoleEvent = { type: 'devices-changed', revision: 7, ids: ['d1'] };
    const got = nextMessage(ws);
    for (const l of listeners) l(event);
    expect(await got).toEqual({ event });
    const closed = new Promise((r) => ws.once('close', r));
    ws.close();
    await closed;
    await expect.poll(() => listeners.size).toBe(0);
  });

  it('carries a full upload chunk (256 KiB of any bytes, base64) under the message limit', async () => {
    const ws = await open({ secret: secretOf(bridge) });
    const bytes = Buffer.from(Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 7919) % 256));
    const digest = bytes.reduce((a, b) => (a * 31 + b) % 1_000_000_007, 0);
    expect(await call(ws, { id: 1, method: 'artifacts.uploadChunk', args: ['u', 0, bytes.toString('base64')] })).toEqual({ id: 1, result: { bytesSent: bytes.length, size: digest } });
    ws.close();
  });

  it('closes a client that sends an oversized message', async () => {
    const ws = await open({ secret: secretOf(bridge) });
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    ws.send('x'.repeat(2 * 1024 * 1024));
    expect(await code).toBe(1009);
  });
});

describe('bridge backpressure', () => {
  it('drops a client that stops reading instead of buffering without bound', async () => {
    await bridge.close();
    bridge = await startBridge({
      api: fakeApi(),
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      staticDir: join(dir, 'web'),
      maxBufferedBytes: 256 * 1024,
    });
    const ws = await open({ secret: secretOf(bridge) });
    await call(ws, { id: 1, method: 'connection.state', args: [] });
    const closed = new Promise((r) => ws.once('close', r));
    (ws as unknown as { _socket: { pause(): void } })._socket.pause(); // a client that never reads
    const big: ConsoleEvent = { type: 'devices-changed', revision: 1, ids: Array.from({ length: 20_000 }, (_, i) => `device-${i}`) };
    for (let i = 0; i < 200 && listeners.size > 0; i++) {
      for (const l of listeners) l(big);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(listeners.size).toBe(0); // unsubscribed: the server let go of it
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await closed;
  });
});

describe('bridge static files', () => {
  it('serves the renderer with a strict CSP', async () => {
    const res = await httpGet('/');
    expect(res.status).toBe(200);
    expect(res.body).toContain('<title>fleet</title>');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${bridge.port}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect((await httpGet('/assets/app.js')).body).toBe('console.log(1)');
  });

  it('refuses paths outside staticDir', async () => {
    for (const path of ['/../outside.txt', '/%2e%2e/outside.txt', '/..%2foutside.txt', '/assets/..%2f..%2foutside.txt', '/%2e%2e%5coutside.txt', '/a%00b', '/%E0%A4%A']) {
      const res = await httpGet(path);
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('SECRET-OUTSIDE');
    }
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    expect((await httpGet('/', 'evil.example:80')).status).toBe(421);
  });
});
