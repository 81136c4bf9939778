import { createHash, randomBytes } from 'node:crypto';
import { connect as connectH2, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as connectTls } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact, ConsoleServiceClient, CreateDeploymentRequest } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { ARTIFACT_ALPN } from '../../proto/shared-port';
import { acceptedDevice, placeRawArtifact, uploadTestArtifact, type TestDevice } from '../testing/fleet-fixtures';
import { bearer, call, consoleClient, deviceClient } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';

// The artifact stream devices download from: HTTP/2 on the hub's gRPC port
// (ALPN fleet-artifacts/1), the same rules as Download.

let t: TestHub;
let devices: DeviceServiceClient;
let operators: ConsoleServiceClient;
let artifact: Artifact;
let bytes: Buffer;
let target: TestDevice;
let outsider: TestDevice;
const sessions: ClientHttp2Session[] = [];

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
  for (const s of sessions) s.destroy();
  devices?.close();
  operators?.close();
  await t?.dispose();
});

function session(): ClientHttp2Session {
  const port = Number(t.hub.address.split(':').pop());
  const s = connectH2(`https://127.0.0.1:${port}`, {
    createConnection: () => connectTls({ host: '127.0.0.1', port, ca: t.hub.certPem, ALPNProtocols: [ARTIFACT_ALPN], checkServerIdentity: () => undefined }),
    settings: { initialWindowSize: 1024 * 1024 },
  });
  s.on('error', () => undefined);
  sessions.push(s);
  return s;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(token: string | undefined, artifactId: string, range?: string): Promise<Answer> {
  const headers: Record<string, string> = { ':path': `/v1/artifacts/${artifactId}` };
  if (token) headers.authorization = `Bearer ${token}`;
  if (range) headers.range = range;
  const req = session().request(headers);
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    req.on('response', (h) => (head = h));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(parts) }));
    req.on('error', reject);
  });
}

const refusal = (a: Answer) => JSON.parse(a.body.toString()) as { code: string; message: string };

describe('artifact stream', () => {
  it('serves the whole artifact, and from any offset up to the very end', async () => {
    const whole = await get(target.token, artifact.id);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(bytes)).toBe(true);
    expect(whole.headers['x-fleet-total-size']).toBe(String(bytes.length));
    for (const offset of [1, 300_001, bytes.length - 1]) {
      const part = await get(target.token, artifact.id, `bytes=${offset}-`);
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes ${offset}-${bytes.length - 1}/${bytes.length}`);
      expect(part.headers['x-fleet-offset']).toBe(String(offset));
      expect(part.body.equals(bytes.subarray(offset))).toBe(true);
    }
    const end = await get(target.token, artifact.id, `bytes=${bytes.length}-`);
    expect(end.status).toBe(200);
    expect(end.body.length).toBe(0);
  });

  it('refuses like Download: no token, a device without the deployment, offsets past the end, bad ids and ranges', async () => {
    const anonymous = await get(undefined, artifact.id);
    expect([anonymous.status, refusal(anonymous).code]).toEqual([401, 'UNAUTHENTICATED']);
    const other = await get(outsider.token, artifact.id);
    expect([other.status, refusal(other).code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(refusal(other).message).toBe(`device ${outsider.id} is not a target of any deployment of artifact ${artifact.id}`);
    const past = await get(target.token, artifact.id, `bytes=${bytes.length + 1}-`);
    expect([past.status, refusal(past).code]).toEqual([416, 'OUT_OF_RANGE']);
    const badId = await get(target.token, 'not-a-sha');
    expect([badId.status, refusal(badId).code]).toEqual([400, 'INVALID_ARGUMENT']);
    const closedRange = await get(target.token, artifact.id, 'bytes=0-99');
    expect([closedRange.status, refusal(closedRange).code]).toEqual([400, 'INVALID_ARGUMENT']);
  });

  it('reads the file only as fast as a slow device consumes it (hub memory bounded)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const MiB = 2 ** 20;
    const big = randomBytes(64 * MiB);
    const record = await placeRawArtifact(t, big, 'big', ['board']);
    await deploy(record.id, [target.id]);
    gc();
    const before = process.memoryUsage().rss;
    const req = session().request({ ':path': `/v1/artifacts/${record.id}`, authorization: `Bearer ${target.token}` });
    const hash = createHash('sha256');
    let received = 0;
    let stalledAt = 0;
    const done = new Promise<void>((resolve, reject) => {
      req.on('data', (d: Buffer) => {
        hash.update(d);
        received += d.length;
        if (!stalledAt && received >= MiB) {
          stalledAt = received;
          req.pause();
        }
      });
      req.on('end', resolve);
      req.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 2000));
    gc();
    const stalledGrowth = process.memoryUsage().rss - before;
    req.resume();
    await done;
    expect(received).toBe(big.length);
    expect(hash.digest('hex')).toBe(record.id);
    console.log(`64 MiB artifact stream: reader stalled at ${(stalledAt / MiB).toFixed(1)} MiB, RSS +${(stalledGrowth / MiB).toFixed(1)} MiB`);
    // An unbounded hub would have read the whole 64 MiB into its write queue.
    expect(stalledGrowth).toBeLessThan(24 * MiB);
  }, 60_000);
});
