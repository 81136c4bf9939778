import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildArtifact, testKeys } from '../../../artifact/testing/fixtures';
import type { RunningHub } from '../../../hub/hub';
import type { ConsoleApi } from '../../common/console-api';
import { createConsoleApp, type ConsoleApp } from '../console-app';
import { startTestHub, TempDirs } from '../testing/test-fleet';
import type { UploadLimits } from './artifact-uploads';

// Chunked uploads through the console API onto a REAL hub's UploadArtifact:
// what the hub stores, what it refuses, and that cancelled or broken uploads
// leave nothing behind.

const temp = new TempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  temp.removeAll();
});

async function connected(uploadLimits?: Partial<UploadLimits>): Promise<{ hub: RunningHub; hubDir: string; app: ConsoleApp }> {
  const hubDir = join(temp.make('upload-hub-'), 'hub');
  const hub = await startTestHub(hubDir);
  cleanups.push(() => hub.close());
  const app = await createConsoleApp({ userDataDir: temp.make('upload-console-'), uploadLimits });
  cleanups.push(() => app.close());
  await app.api.connection.connect({ hub: hub.address, token: hub.adminToken, fingerprint: hub.fingerprint });
  await expect.poll(async () => (await app.api.connection.state()).phase, { timeout: 10_000 }).toBe('online');
  return { hub, hubDir, app };
}

function artifact(version: string, key = testKeys()[0].privateKeyPem, payloadBytes = 700_000): Promise<Buffer> {
  const data = randomBytes(payloadBytes); // incompressible: the artifact spans several chunks
  return buildArtifact({ name: 'fleetos', version, deviceTypes: ['sim-device'], compression: 'gzip', signingKey: key, payloads: [{ type: 'rootfs-image', name: 'rootfs.img', data }] });
}

/** Sends every chunk the way the renderer does, the window's chunks in reverse order to prove reordering. */
async function upload(api: ConsoleApi, bytes: Buffer, fileName = 'fleetos.fleet') {
  const ticket = await api.artifacts.uploadBegin({ fileName, size: bytes.length });
  const offsets: number[] = [];
  for (let o = 0; o < bytes.length; o += ticket.chunkBytes) offsets.push(o);
  const progress: number[] = [];
  for (let i = 0; i < offsets.length; i += ticket.maxInFlight) {
    const window = offsets.slice(i, i + ticket.maxInFlight).reverse();
    const sent = await Promise.all(window.map((o) => api.artifacts.uploadChunk(ticket.uploadId, o, bytes.subarray(o, o + ticket.chunkBytes).toString('base64'))));
    progress.push(...sent.map((p) => p.bytesSent));
  }
  return { ticket, progress, result: await api.artifacts.uploadFinish(ticket.uploadId) };
}

const tmpFiles = (hubDir: string) => readdirSync(join(hubDir, 'artifacts', 'tmp'));

describe('artifact uploads through the console API', () => {
  it('streams a signed artifact in chunks (reordered within the window); the hub verifies and lists it as trusted', async () => {
    const { hubDir, app } = await connected();
    mkdirSync(join(hubDir, 'trusted-keys'), { recursive: true });
    writeFileSync(join(hubDir, 'trusted-keys', 'release.pub'), testKeys()[0].publicKeyPem);
    const bytes = await artifact('1.1.0');
    expect(bytes.length).toBeGreaterThan(2 * 256 * 1024);

    const { ticket, progress, result } = await upload(app.api, bytes);
    expect(ticket).toMatchObject({ chunkBytes: 256 * 1024, maxInFlight: 4 });
    expect(Math.max(...progress)).toBe(bytes.length);
    expect(result.deduplicated).toBe(false);
    expect(result.artifact).toMatchObject({ name: 'fleetos', version: '1.1.0', deviceTypes: ['sim-device'], signatureStatus: 'trusted', size: bytes.length, uploadedBy: 'admin' });
    expect(await app.api.artifacts.list()).toEqual([result.artifact]);

    const again = await upload(app.api, bytes, 'copy.fleet');
    expect(again.result).toMatchObject({ deduplicated: true, artifact: { id: result.artifact.id } });
    expect(tmpFiles(hubDir)).toEqual([]);
  });

  it('stores an artifact signed by an unknown key as untrusted-key', async () => {
    const { app } = await connected();
    const { result } = await upload(app.api, await artifact('1.2.0', testKeys()[1].privateKeyPem));
    expect(result.artifact.signatureStatus).toBe('untrusted-key');
  });

  it('passes on the hub refusing a tampered artifact, and stores nothing', async () => {
    const { hubDir, app } = await connected();
    const bytes = await artifact('1.3.0');
    bytes[bytes.length - 3000] ^= 0x01; // inside the payload
    await expect(upload(app.api, bytes, 'tampered.fleet')).rejects.toThrow(/the hub refused tampered\.fleet: artifact tampered\.fleet refused \(/);
    expect(await app.api.artifacts.list()).toEqual([]);
    expect(tmpFiles(hubDir)).toEqual([]);
  });

  it('refuses chunks of the wrong size, out of place or ahead of the window, and finishing early', async () => {
    const { app } = await connected();
    const bytes = await artifact('1.4.0', undefined, 1_500_000); // more than a window of chunks
    const { uploadId, chunkBytes, maxInFlight } = await app.api.artifacts.uploadBegin({ fileName: 'x.fleet', size: bytes.length });
    const chunk = (o: number, n = chunkBytes) => bytes.subarray(o, o + n).toString('base64');
    await expect(app.api.artifacts.uploadChunk(uploadId, 0, chunk(0, 100))).rejects.toThrow(/holds 100 bytes; expected 262144/);
    await expect(app.api.artifacts.uploadChunk(uploadId, 5, chunk(5))).rejects.toThrow(/out of place/);
    await expect(app.api.artifacts.uploadChunk(uploadId, maxInFlight * chunkBytes, chunk(maxInFlight * chunkBytes))).rejects.toThrow(/ahead of the window/);
    await expect(app.api.artifacts.uploadChunk(uploadId, 100 * chunkBytes, chunk(0))).rejects.toThrow(/past the end of the \d+-byte file/);
    await app.api.artifacts.uploadChunk(uploadId, 0, chunk(0));
    await expect(app.api.artifacts.uploadChunk(uploadId, 0, chunk(0))).rejects.toThrow(/out of place/);
    await expect(app.api.artifacts.uploadFinish(uploadId)).rejects.toThrow(/incomplete: 262144 of \d+ bytes sent/);
    await app.api.artifacts.uploadCancel(uploadId);
    await expect(app.api.artifacts.uploadChunk(uploadId, chunkBytes, chunk(chunkBytes))).rejects.toThrow(/no such upload/);
    await expect(app.api.artifacts.uploadBegin({ fileName: 'empty.fleet', size: 0 })).rejects.toThrow(/empty/);
  });

  it('cancels an upload midway, and one left idle, with nothing left on the hub', async () => {
    const { hubDir, app } = await connected({ idleMs: 1000 });
    const bytes = await artifact('1.5.0');
    const first = (uploadId: string, chunkBytes: number) => app.api.artifacts.uploadChunk(uploadId, 0, bytes.subarray(0, chunkBytes).toString('base64'));
    const cancelled = await app.api.artifacts.uploadBegin({ fileName: 'c.fleet', size: bytes.length });
    await first(cancelled.uploadId, cancelled.chunkBytes);
    await expect.poll(() => tmpFiles(hubDir).length).toBe(1);
    await app.api.artifacts.uploadCancel(cancelled.uploadId);
    await expect.poll(() => tmpFiles(hubDir).length, { timeout: 5000 }).toBe(0);

    // A renderer that vanished mid-upload: the idle timer ends the upload on its own.
    const idle = await app.api.artifacts.uploadBegin({ fileName: 'idle.fleet', size: bytes.length });
    await first(idle.uploadId, idle.chunkBytes);
    await expect.poll(() => tmpFiles(hubDir).length).toBe(1);
    await new Promise((r) => setTimeout(r, 1500));
    await expect(app.api.artifacts.uploadFinish(idle.uploadId)).rejects.toThrow(/no such upload/);
    await expect.poll(() => tmpFiles(hubDir).length, { timeout: 5000 }).toBe(0);
    expect(await app.api.artifacts.list()).toEqual([]);
  });

  it('explains that uploading needs the hub when disconnected', async () => {
    const app = await createConsoleApp({ userDataDir: temp.make('upload-offline-') });
    cleanups.push(() => app.close());
    await expect(app.api.artifacts.uploadBegin({ fileName: 'a.fleet', size: 10 })).rejects.toThrow(/not connected to a hub — uploading an artifact needs the hub/);
  });
});
