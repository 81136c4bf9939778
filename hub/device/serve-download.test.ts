import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { createHash, randomBytes as cryptoRandomBytes } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact, ConsoleServiceClient, CreateDeploymentRequest } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient, DownloadChunk } from '../../proto/gen/fleet/v1/device';
import { acceptedDevice, placeRawArtifact, uploadTestArtifact, type TestDevice } from '../testing/fleet-fixtures';
import { bearer, call, consoleClient, deviceClient } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';
import { DOWNLOAD_CHUNK_BYTES, SHARED_ARTIFACT_MAX_BYTES } from './serve-download';

let t: TestHub;
let devices: DeviceServiceClient;
let operators: ConsoleServiceClient;
let artifact: Artifact;
let bytes: Buffer;
let target: TestDevice;
let outsider: TestDevice;

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
  devices?.close();
  operators?.close();
  await t?.dispose();
});

interface Downloaded {
  chunks: DownloadChunk[];
  data: Buffer;
  error?: ServiceError;
}

function download(token: string | undefined, artifactId: string, offset: number): Promise<Downloaded> {
  const stream = devices.download({ artifactId, offset }, token === undefined ? undefined : bearer(token), { deadline: Date.now() + 30_000 });
  return collect(stream);
}

function collect(stream: ClientReadableStream<DownloadChunk>): Promise<Downloaded> {
  const chunks: DownloadChunk[] = [];
  return new Promise((resolve) => {
    stream.on('data', (c: DownloadChunk) => chunks.push(c));
    stream.on('error', (error: ServiceError) => resolve({ chunks, data: Buffer.alloc(0), error }));
    stream.on('end', () => resolve({ chunks, data: Buffer.concat(chunks.map((c) => c.data)) }));
  });
}

describe('Download', () => {
  it('serves the whole artifact from offset 0 in chunks of at most 256 KiB', async () => {
    const got = await download(target.token, artifact.id, 0);
    expect(got.error).toBeUndefined();
    expect(got.data.equals(bytes)).toBe(true);
    expect(got.chunks.length).toBe(Math.ceil(bytes.length / DOWNLOAD_CHUNK_BYTES));
    let offset = 0;
    for (const c of got.chunks) {
      expect(c.offset).toBe(offset);
      expect(c.totalSize).toBe(bytes.length);
      expect(c.data.length).toBeLessThanOrEqual(DOWNLOAD_CHUNK_BYTES);
      offset += c.data.length;
    }
  });

  it('resumes from any offset, including the very end', async () => {
    for (const offset of [1, 300_001, bytes.length - 1]) {
      const got = await download(target.token, artifact.id, offset);
      expect(got.error).toBeUndefined();
      expect(got.chunks[0].offset).toBe(offset);
      expect(got.data.equals(bytes.subarray(offset))).toBe(true);
    }
    const end = await download(target.token, artifact.id, bytes.length);
    expect(end.error).toBeUndefined();
    expect(end.chunks).toEqual([]);
  });

  it('refuses offsets outside the file, devices without the deployment, and calls without a token', async () => {
    const past = await download(target.token, artifact.id, bytes.length + 1);
    expect(past.error?.code).toBe(status.OUT_OF_RANGE);
    expect(past.error?.details).toMatch(`offset ${bytes.length + 1} is outside artifact`);
    expect((await download(target.token, artifact.id, -5)).error?.code).toBe(status.OUT_OF_RANGE);
    const other = await download(outsider.token, artifact.id, 0);
    expect(other.error?.code).toBe(status.PERMISSION_DENIED);
    expect(other.error?.details).toMatch(`device ${outsider.id} is not a target of any deployment of artifact ${artifact.id}`);
    expect(other.chunks).toEqual([]);
    expect((await download(undefined, artifact.id, 0)).error?.code).toBe(status.UNAUTHENTICATED);
    expect((await download(target.token, 'not-a-sha', 0)).error?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('serves a small artifact from chunks read once and shared; a big one is read per download', async () => {
    const small = cryptoRandomBytes(300_000);
    const big = cryptoRandomBytes(SHARED_ARTIFACT_MAX_BYTES + 1);
    const smallRecord = await placeRawArtifact(t, small, 'small', ['board']);
    const bigRecord = await placeRawArtifact(t, big, 'big-shared', ['board']);
    await deploy(smallRecord.id, [target.id]);
    await deploy(bigRecord.id, [target.id]);
    const both = await Promise.all([download(target.token, smallRecord.id, 0), download(target.token, smallRecord.id, 0), download(target.token, bigRecord.id, 0)]);
    expect(both.map((d) => d.error)).toEqual([undefined, undefined, undefined]);
    expect([both[0].data.equals(small), both[1].data.equals(small), both[2].data.equals(big)]).toEqual([true, true, true]);
    // The files are content-addressed and never change; cut short on disk
    // here only to show which download reads them.
    for (const id of [smallRecord.id, bigRecord.id]) truncateSync(join(t.dir, 'artifacts', 'sha256', id), 1000);
    const again = await download(target.token, smallRecord.id, 0);
    expect(again.error).toBeUndefined();
    expect(again.data.equals(small)).toBe(true);
    const bigAgain = await download(target.token, bigRecord.id, 0);
    expect(bigAgain.error?.details).toMatch(/shorter than recorded/);
  });

  it('keeps hub memory bounded for a slow reader of a 64 MiB artifact', async () => {
    // A collection before each reading keeps garbage out of the figures.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const big = cryptoRandomBytes(64 * 1024 * 1024);
    const record = await placeRawArtifact(t, big, 'big', ['board']);
    await deploy(record.id, [target.id]);
    const MiB = 2 ** 20;
    gc();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));

    const stream = devices.download({ artifactId: record.id, offset: 0 }, bearer(target.token), { deadline: Date.now() + 60_000 });
    const hash = createHash('sha256');
    let received = 0;
    let stall: (() => void) | undefined;
    const stalled = new Promise<void>((resolve) => (stall = resolve));
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (c: DownloadChunk) => {
        if (c.offset !== received) reject(new Error(`chunk at ${c.offset}, expected ${received}`));
        hash.update(c.data);
        received += c.data.length;
        sample();
        // A slow reader: it stops after 1 MiB for two seconds.
        if (stall && received >= MiB) {
          stream.pause();
          stall();
          stall = undefined;
        }
      });
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    await stalled;
    const stalledAt = received;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      sample();
    }
    gc();
    // An unbounded hub has read the whole file into its write queue by now.
    const stalledGrowth = process.memoryUsage().rss - before;
    stream.resume();
    await done;
    expect(received).toBe(big.length);
    expect(hash.digest('hex')).toBe(record.id);
    const peakGrowth = peak - before;
    console.log(`64 MiB download: stalled reader at ${(stalledAt / MiB).toFixed(1)} MiB, RSS +${(stalledGrowth / MiB).toFixed(1)} MiB; peak RSS growth +${(peakGrowth / MiB).toFixed(1)} MiB`);
    expect(stalledGrowth).toBeLessThan(40 * MiB);
    expect(peakGrowth).toBeLessThan(64 * MiB);
  }, 60_000);
});
