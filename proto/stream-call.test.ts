import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenShared, type SharedPort } from './shared-port';
import { ClientStreamCall } from './stream-client-call';
import { serveStreamSocket, type ServerStreamCall, type StreamMethod } from './stream-server-call';
import { FLAG_MESSAGE, FrameReader, MAX_STREAM_MESSAGE_BYTES, STREAM_ALPN } from './stream-wire';
import { certificateFingerprint, pemToDer } from './tls-fingerprint';

// The bare stream (stream-wire.ts) end to end over real TLS on loopback:
// the server call shaped like grpc-js's, the client call, and the refusals.

/** A throw-away self-signed certificate named like the hub's. */
function makeCertificate(): { certPem: string; keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stream-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=fleet-hub', '-days', '2', '-keyout', join(dir, 'k'), '-out', join(dir, 'c')], { stdio: 'pipe' });
    return { certPem: readFileSync(join(dir, 'c'), 'utf8'), keyPem: readFileSync(join(dir, 'k'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cert = makeCertificate();
let port: SharedPort;
const calls: ServerStreamCall[] = [];
const PING_MS = 150;
const text: Pick<StreamMethod, 'serialize' | 'deserialize'> = { serialize: (v) => Buffer.from(String(v)), deserialize: (b) => b.toString() };

beforeAll(async () => {
  const methods = new Map<string, StreamMethod>([['/t/Echo', { ...text, handle: (call) => void calls.push(call) }]]);
  // Pings after 150 ms of quiet, so the keepalive can be seen in a test.
  port = await listenShared({ host: '127.0.0.1', port: 0, certPem: cert.certPem, keyPem: cert.keyPem, grpcServer: new grpc.Server(), artifacts: (s) => s.destroy(), streams: (s) => serveStreamSocket(s, methods, PING_MS) });
});
afterAll(async () => {
  port.destroy();
  await port.stopListening();
});

function dial(method = '/t/Echo', metadata: Record<string, string> = { authorization: 'Bearer x' }, silenceMs = 3 * PING_MS): ClientStreamCall<string, string> {
  return new ClientStreamCall({ hub: `127.0.0.1:${port.port}`, caPem: cert.certPem, fingerprint: certificateFingerprint(pemToDer(cert.certPem)), method, metadata, serialize: (v) => Buffer.from(v), deserialize: (b) => b.toString(), silenceMs });
}

function outcome(call: ClientStreamCall<string, string>): Promise<{ got: string[]; end?: true; error?: grpc.ServiceError }> {
  const got: string[] = [];
  return new Promise((resolve) => {
    call.on('data', (m: string) => got.push(m));
    call.on('end', () => resolve({ got, end: true }));
    call.on('error', (error: grpc.ServiceError) => resolve({ got, error }));
  });
}

async function nextCall(n: number): Promise<ServerStreamCall> {
  for (let i = 0; i < 200 && calls.length <= n; i++) await new Promise((r) => setTimeout(r, 10));
  return calls[n];
}

describe('stream calls', () => {
  it('carries metadata and messages both ways; a message sent before the server listens is kept; half-close comes after the messages', async () => {
    const n = calls.length;
    const client = dial();
    const done = outcome(client);
    client.write('one');
    client.write('two');
    client.end();
    const server = await nextCall(n);
    expect(server.metadata.get('authorization')).toEqual(['Bearer x']);
    await new Promise((r) => setTimeout(r, 100));
    const seen: string[] = [];
    server.on('data', (m: string) => {
      seen.push(m);
      // grpc-js style: pausing holds what follows
      server.pause();
      setTimeout(() => server.resume(), 20);
    });
    await new Promise<void>((resolve) => server.on('end', resolve));
    expect(seen).toEqual(['one', 'two']);
    server.write('back');
    server.end();
    expect(await done).toEqual({ got: ['back'], end: true });
  });

  it("ends the client's call with the server's status, and tells the server when the client cancels", async () => {
    const n = calls.length;
    const a = dial();
    const failed = outcome(a);
    (await nextCall(n)).emit('error', { code: grpc.status.NOT_FOUND, details: 'no channel x' });
    const { error } = await failed;
    expect([error?.code, error?.details]).toEqual([grpc.status.NOT_FOUND, 'no channel x']);

    const b = dial();
    const bEnded = outcome(b);
    const server = await nextCall(n + 1);
    const cancelled = new Promise<void>((resolve) => server.on('cancelled', () => resolve()));
    b.cancel();
    await cancelled;
    expect(server.cancelled).toBe(true);
    expect((await bEnded).error?.code).toBe(grpc.status.CANCELLED);
  });

  it('keeps a quiet call alive with pings, ends one whose client stops answering, and a client gives up on a silent hub', async () => {
    const n = calls.length;
    const quiet = dial();
    const quietEnd = outcome(quiet);
    const server = await nextCall(n);
    await new Promise((r) => setTimeout(r, 8 * PING_MS));
    expect(server.cancelled).toBe(false);
    server.end();
    expect((await quietEnd).end).toBe(true);

    // A client that sends its request and then never answers a ping.
    const raw = connectTls({ host: '127.0.0.1', port: port.port, ca: cert.certPem, ALPNProtocols: [STREAM_ALPN], servername: 'fleet-hub', checkServerIdentity: () => undefined });
    raw.write(`${JSON.stringify({ method: '/t/Echo', metadata: {} })}\n`);
    raw.on('data', () => undefined);
    const deaf = await nextCall(n + 1);
    await new Promise<void>((resolve) => deaf.on('cancelled', () => resolve()));
    raw.destroy();

    // A hub that never answers (a plain TLS server that takes the connection and stays silent).
    const mute = dial('/t/Echo', {}, 200);
    const muteEnd = outcome(mute);
    const stuck = await nextCall(n + 2);
    stuck.pause();
    (stuck as unknown as { socket: { setTimeout(ms: number): void } }).socket.setTimeout(0);
    expect((await muteEnd).error?.details).toBe('no word from the hub in 0.2 s');
  });

  it('refuses an unknown method and a request that is not one, with a status', async () => {
    expect((await outcome(dial('/t/Nope'))).error?.code).toBe(grpc.status.UNIMPLEMENTED);
    const raw = connectTls({ host: '127.0.0.1', port: port.port, ca: cert.certPem, ALPNProtocols: [STREAM_ALPN], servername: 'fleet-hub', checkServerIdentity: () => undefined });
    raw.write('GET / HTTP/1.1\n');
    const reader = new FrameReader();
    const frames = await new Promise<ReturnType<FrameReader['push']>>((resolve) => {
      const got: ReturnType<FrameReader['push']> = [];
      raw.on('data', (d: Buffer) => got.push(...reader.push(d)));
      raw.on('close', () => resolve(got));
    });
    expect(JSON.parse(frames[0].bytes.toString())).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('picks AES-128-GCM for a client that offers AES-256-GCM first (Node\'s default order), and still serves a client that only has AES-256', async () => {
    const suiteOf = (ciphers?: string) =>
      new Promise<string>((resolve, reject) => {
        const raw = connectTls({ host: '127.0.0.1', port: port.port, ca: cert.certPem, ALPNProtocols: [STREAM_ALPN], servername: 'fleet-hub', checkServerIdentity: () => undefined, ...(ciphers ? { ciphers } : {}) });
        raw.once('secureConnect', () => {
          resolve(raw.getCipher().name);
          raw.destroy();
        });
        raw.once('error', reject);
      });
    expect(await suiteOf()).toBe('TLS_AES_128_GCM_SHA256');
    expect(await suiteOf('TLS_AES_256_GCM_SHA384')).toBe('TLS_AES_256_GCM_SHA384');
  });

  it('reads frames however the reads cut them, and refuses one over the limit', () => {
    const reader = new FrameReader();
    const frame = Buffer.concat([Buffer.from([FLAG_MESSAGE, 0, 0, 0, 5]), Buffer.from('hello')]);
    const twice = Buffer.concat([frame, frame]);
    const got = [...twice.subarray(0, 3)].map((b) => reader.push(Buffer.from([b]))).flat();
    got.push(...reader.push(twice.subarray(3, 12)), ...reader.push(twice.subarray(12)));
    expect(got.map((f) => [f.flag, f.bytes.toString()])).toEqual([
      [0, 'hello'],
      [0, 'hello'],
    ]);
    const big = Buffer.from([FLAG_MESSAGE, 0, 0, 0, 0]);
    big.writeUInt32BE(MAX_STREAM_MESSAGE_BYTES + 1, 1);
    expect(() => new FrameReader().push(big)).toThrow(/at most/);
  });
});
