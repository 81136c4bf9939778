import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, constants, createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendFileRange } from './send-file-range';

const dir = mkdtempSync(join(tmpdir(), 'fleet-send-range-'));
const file = join(dir, 'artifact');
const bytes = randomBytes(5 * 1024 * 1024 + 321);
let server: Http2Server;
let url: string;
let serve: (stream: ServerHttp2Stream) => void;

beforeAll(async () => {
  writeFileSync(file, bytes);
  server = createServer((_req, _res) => undefined);
  server.on('stream', (stream) => serve(stream));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('sendFileRange', () => {
  it('sends exactly the asked range through the two reused buffers', async () => {
    let sent: Promise<void> = Promise.resolve();
    serve = (stream) => {
      stream.respond({ ':status': 200 });
      sent = sendFileRange(stream, file, 1000, bytes.length - 7, 64 * 1024);
    };
    const session = connect(url);
    const parts: Buffer[] = [];
    const req = session.request({ ':path': '/' });
    for await (const part of req) parts.push(part as Buffer);
    await sent;
    session.close();
    expect(Buffer.concat(parts).equals(bytes.subarray(1000, bytes.length - 7))).toBe(true);
  });

  it('gives up (and closes the file) when the device goes away mid-stream', async () => {
    const before = openFds();
    let sent: Promise<void> | undefined;
    serve = (stream) => {
      stream.respond({ ':status': 200 });
      sent = sendFileRange(stream, file, 0, bytes.length, 64 * 1024);
    };
    const session = connect(url);
    const req = session.request({ ':path': '/' });
    await new Promise((resolve) => req.once('data', resolve));
    req.close(constants.NGHTTP2_CANCEL);
    const outcome = await Promise.race([sent!.then(() => 'finished', () => 'failed'), new Promise((r) => setTimeout(() => r('hung'), 3000))]);
    session.close();
    expect(outcome).toBe('failed');
    expect(openFds()).toBeLessThanOrEqual(before + 1); // the client session's socket may still be closing
  });
});
