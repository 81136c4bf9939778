import { createHash, randomBytes } from 'node:crypto';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCredit, encodeLine, LineReader, parseAnswer, type ArtifactAnswer } from '../../proto/artifact-wire';
import type { Artifact, ConsoleServiceClient, CreateDeploymentRequest } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { ARTIFACT_ALPN } from '../../proto/shared-port';
import { acceptedDevice, placeRawArtifact, uploadTestArtifact, type TestDevice } from '../testing/fleet-fixtures';
import { bearer, call, consoleClient, deviceClient } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';

// The artifact stream devices download from: bare bytes on the hub's gRPC
// port (ALPN fleet-artifacts/2, proto/artifact-wire.ts), paced by the
// device's credit, the same rules as Download.

let t: TestHub;
let devices: DeviceServiceClient;
let operators: ConsoleServiceClient;
let artifact: Artifact;
let bytes: Buffer;
let target: TestDevice;
let outsider: TestDevice;
const sockets: TLSSocket[] = [];

const deploy = (artifactId: string, deviceIds: string[]) =>
  call(operators, operators.createDeployment, { artifactId, deviceIds, name: '', artifactName: '', group: '', allowDowngrade: false, force: false } satisfies CreateDeploymentRequest, bearer(t.hub.adminToken));

beforeAll(async () => {
  t = await startTestHub();
  devices = deviceClient(t.hub);
  operators = consoleClient(t.hub);
  ({ artifact, bytes } = await uploadTestArtifact(t, operators, { name: 'fw', version: '3', deviceTypes: ['board'], size: 700_000 }));
  target = await acceptedDevice(t, devices, 'board');
  outsider = await acceptedDevice(t, devices, 'board');
  await deploy(artifact.id, [target.id]);
}, 30_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  devices?.close();
  operators?.close();
  await t?.dispose();
});

const WINDOW = 256 * 1024;

interface Download {
  answer: Promise<ArtifactAnswer>;
  /** Every byte after the answer line. */
  body: Promise<Buffer>;
  /** Bytes received so far. */
  received(): number;
  grant(bytes: number): void;
}

/** A device's side of the wire: asks, then grants back every byte it receives unless `autoGrant` is off. */
function download(request: string | object, autoGrant = true): Download {
  const port = Number(t.hub.address.split(':').pop());
  const socket = connectTls({ host: '127.0.0.1', port, ca: t.hub.certPem, ALPNProtocols: [ARTIFACT_ALPN], servername: 'fleet-hub', checkServerIdentity: () => undefined });
  socket.on('error', () => undefined);
  sockets.push(socket);
  socket.once('secureConnect', () => socket.write(typeof request === 'string' ? request : encodeLine(request as never)));
  const header = new LineReader();
  let settle: (a: ArtifactAnswer) => void = () => undefined;
  const answer = new Promise<ArtifactAnswer>((resolve) => (settle = resolve));
  const parts: Buffer[] = [];
  let received = 0;
  let answered = false;
  const body = new Promise<Buffer>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      if (!answered) {
        const got = header.push(d);
        if (!got) return;
        answered = true;
        settle(parseAnswer(got.line));
        d = got.rest;
      }
      parts.push(d);
      received += d.length;
      if (autoGrant && d.length) socket.write(encodeCredit(d.length));
    });
    socket.on('end', () => resolve(Buffer.concat(parts)));
    socket.on('close', () => (answered ? resolve(Buffer.concat(parts)) : reject(new Error('closed before an answer'))));
  });
  body.catch(() => undefined);
  return { answer, body, received: () => received, grant: (n) => socket.write(encodeCredit(n)) };
}

const ask = (token: string, artifactId: string, offset = 0) => ({ artifactId, offset, token, window: WINDOW });

describe('artifact stream', () => {
  it('serves the whole artifact, and from any offset up to the very end', async () => {
    const whole = download(ask(target.token, artifact.id));
    expect(await whole.answer).toEqual({ offset: 0, totalSize: bytes.length });
    expect((await whole.body).equals(bytes)).toBe(true);
    for (const offset of [1, 300_001, bytes.length - 1, bytes.length]) {
      const part = download(ask(target.token, artifact.id, offset));
      expect(await part.answer).toEqual({ offset, totalSize: bytes.length });
      expect((await part.body).equals(bytes.subarray(offset))).toBe(true);
    }
  });

  it('refuses like Download: no token, a device without the deployment, offsets past the end, bad ids, a request that is not one', async () => {
    const refusal = async (d: Download) => {
      const a = await d.answer;
      expect(await d.body).toEqual(Buffer.alloc(0));
      return a as { code: string; message: string };
    };
    expect((await refusal(download(ask('', artifact.id)))).code).toBe('UNAUTHENTICATED');
    const other = await refusal(download(ask(outsider.token, artifact.id)));
    expect(other).toEqual({ code: 'PERMISSION_DENIED', message: `device ${outsider.id} is not a target of any deployment of artifact ${artifact.id}` });
    expect((await refusal(download(ask(target.token, artifact.id, bytes.length + 1)))).code).toBe('OUT_OF_RANGE');
    expect((await refusal(download(ask(target.token, 'not-a-sha')))).code).toBe('INVALID_ARGUMENT');
    const garbage = await refusal(download('GET /v1/artifacts HTTP/1.1\n'));
    expect(garbage.code).toBe('INVALID_ARGUMENT');
    expect(garbage.message).toMatch(/not an artifact request/);
  });

  it('sends no more than the credit: a device that stops granting holds the hub at its window (hub memory bounded)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const MiB = 2 ** 20;
    const big = randomBytes(64 * MiB);
    const record = await placeRawArtifact(t, big, 'big', ['board']);
    await deploy(record.id, [target.id]);
    gc();
    const before = process.memoryUsage().rss;
    const d = download(ask(target.token, record.id), false);
    await d.answer;
    await new Promise((r) => setTimeout(r, 1500));
    gc();
    const stalledGrowth = process.memoryUsage().rss - before;
    // Exactly the window, not a byte more, while nothing is granted.
    const held = d.received();
    expect(held).toBe(WINDOW);
    d.grant(big.length - WINDOW);
    const body = await d.body;
    expect(body.length).toBe(big.length);
    expect(createHash('sha256').update(body).digest('hex')).toBe(record.id);
    console.log(`64 MiB artifact stream: held at ${held} bytes without credit, RSS +${(stalledGrowth / MiB).toFixed(1)} MiB`);
    // An unbounded hub would have read the whole 64 MiB into its write queue.
    expect(stalledGrowth).toBeLessThan(24 * MiB);
  }, 60_000);
});
