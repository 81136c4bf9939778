import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreditGate, encodeCredit } from '../../proto/artifact-wire';
import { sendFileRange } from './send-file-range';

const dir = mkdtempSync(join(tmpdir(), 'fleet-send-range-'));
const file = join(dir, 'artifact');
const bytes = randomBytes(5 * 1024 * 1024 + 321);
let server: Server;
let port: number;
let serve: (socket: Socket) => void;

beforeAll(async () => {
  writeFileSync(file, bytes);
  server = createServer((socket) => serve(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** The sender's gate fed by what the receiver writes back. */
function gated(socket: Socket, window: number): CreditGate {
  const credit = new CreditGate(window);
  socket.on('data', (d: Buffer) => credit.push(d));
  socket.once('close', () => credit.close(new Error('the device closed the connection')));
  return credit;
}

describe('sendFileRange', () => {
  it('sends exactly the asked range through the two reused buffers, within the credit granted', async () => {
    const WINDOW = 100_000;
    let sent: Promise<void> = Promise.resolve();
    serve = (socket) => (sent = sendFileRange(socket, gated(socket, WINDOW), file, 1000, bytes.length - 7, 64 * 1024));
    const client = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let received = 0;
    let granted = WINDOW;
    let overrun = 0;
    client.on('data', (d: Buffer) => {
      parts.push(d);
      received += d.length;
      overrun = Math.max(overrun, received - granted);
      // Grants split across writes must add up too: 3 bytes, then the rest.
      const grant = encodeCredit(d.length);
      client.write(grant.subarray(0, 3));
      client.write(grant.subarray(3));
      granted += d.length;
    });
    await new Promise((resolve) => client.once('end', resolve));
    await sent;
    client.destroy();
    expect(overrun).toBe(0);
    expect(Buffer.concat(parts).equals(bytes.subarray(1000, bytes.length - 7))).toBe(true);
  });

  it('gives up (and closes the file) when the device goes away while it waits for credit', async () => {
    const before = openFds();
    let sent: Promise<void> | undefined;
    serve = (socket) => (sent = sendFileRange(socket, gated(socket, 64 * 1024), file, 0, bytes.length, 64 * 1024));
    const client = connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('data', resolve));
    client.destroy();
    const outcome = await Promise.race([sent!.then(() => 'finished', () => 'failed'), new Promise((r) => setTimeout(() => r('hung'), 3000))]);
    expect(outcome).toBe('failed');
    expect(openFds()).toBeLessThanOrEqual(before + 1); // the server side's socket may still be closing
  });
});
