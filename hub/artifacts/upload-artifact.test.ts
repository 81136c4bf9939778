import { status, type Metadata } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact, listEntries, prng, randomBytes, testKeys } from '../../artifact/testing/fixtures';
import type { ConsoleServiceClient, UploadArtifactResponse } from '../../proto/gen/fleet/v1/console';
import { bearer, call, consoleClient, eventually, rejection } from '../testing/grpc-clients';
import { startTestHub, type TestHub } from '../testing/test-hub';

const [trustedKey, otherKey] = testKeys();
const image = randomBytes(prng(3), 600_000);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function upload(client: ConsoleServiceClient, md: Metadata, bytes: Buffer, opts: { size?: number; chunk?: number } = {}): Promise<UploadArtifactResponse> {
  return new Promise((resolve, reject) => {
    const stream = client.uploadArtifact(md, { deadline: Date.now() + 20_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
    stream.write({ part: { $case: 'header', header: { size: opts.size ?? bytes.length, fileName: 'test.fleet' } } });
    const step = opts.chunk ?? 256 * 1024;
    for (let i = 0; i < bytes.length; i += step) stream.write({ part: { $case: 'chunk', chunk: bytes.subarray(i, i + step) } });
    stream.end();
  });
}

describe('UploadArtifact / ListArtifacts', () => {
  let t: TestHub;
  let client: ConsoleServiceClient;
  let admin: Metadata;
  let signedTrusted: Buffer;
  let signedOther: Buffer;
  let unsigned: Buffer;
  const tmpDir = (): string => join(t.dir, 'artifacts', 'tmp');
  const stored = (): string[] => readdirSync(join(t.dir, 'artifacts', 'sha256'));

  beforeAll(async () => {
    t = await startTestHub();
    writeFileSync(join(t.dir, 'trusted-keys', 'release.pub'), trustedKey.publicKeyPem);
    client = consoleClient(t.hub);
    admin = bearer(t.hub.adminToken);
    const base = { version: '1.2.0', deviceTypes: ['pi4'], compression: 'gzip' as const, payloads: [{ type: 'rootfs-image' as const, name: 'rootfs.ext4', data: image }] };
    signedTrusted = await buildArtifact({ ...base, name: 'os', signingKey: trustedKey.privateKeyPem });
    signedOther = await buildArtifact({ ...base, name: 'os-other', signingKey: otherKey.privateKeyPem });
    unsigned = await buildArtifact({ ...base, name: 'os-unsigned' });
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await t?.dispose();
  });

  it('stores a trusted artifact content-addressed and records it with an audit event', async () => {
    const res = await upload(client, admin, signedTrusted);
    expect(res.deduplicated).toBe(false);
    expect(res.artifact).toMatchObject({
      id: sha(signedTrusted),
      name: 'os',
      version: '1.2.0',
      group: 'os',
      deviceTypes: ['pi4'],
      size: signedTrusted.length,
      signatureStatus: 'trusted',
      keyId: trustedKey.keyId,
      uploadedBy: 'admin',
      payloadSummary: 'rootfs-image (gzip)',
    });
    expect(readFileSync(join(t.dir, 'artifacts', 'sha256', sha(signedTrusted))).equals(signedTrusted)).toBe(true);
    expect(readdirSync(tmpDir())).toEqual([]);
    const events = await t.hub.store.eventsAfter(0, 1000);
    const event = events.find((e) => e.kind === 'artifact.uploaded');
    expect(event).toMatchObject({ actor: 'admin', entityId: sha(signedTrusted), details: { name: 'os', version: '1.2.0', signatureStatus: 'trusted' } });
  });

  it('answers deduplicated for the same bytes and stores nothing new', async () => {
    const before = (await t.hub.store.eventsAfter(0, 1000)).length;
    const res = await upload(client, admin, signedTrusted, { chunk: 100_000 });
    expect(res.deduplicated).toBe(true);
    expect(res.artifact?.id).toBe(sha(signedTrusted));
    expect((await t.hub.store.eventsAfter(0, 1000)).length).toBe(before);
    expect(readdirSync(tmpDir())).toEqual([]);
  });

  it('records untrusted-key and unsigned artifacts with their status', async () => {
    expect((await upload(client, admin, signedOther)).artifact).toMatchObject({ signatureStatus: 'untrusted-key', keyId: otherKey.keyId });
    expect((await upload(client, admin, unsigned)).artifact).toMatchObject({ signatureStatus: 'unsigned', keyId: '' });
  });

  it('refuses a truncated upload and leaves nothing behind', async () => {
    const before = stored();
    const err = await rejection(upload(client, admin, signedTrusted.subarray(0, 300_000), { size: signedTrusted.length }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(`upload truncated: got 300000 of ${signedTrusted.length} bytes`);
    expect(readdirSync(tmpDir())).toEqual([]);
    expect(stored()).toEqual(before);
  });

  it('refuses a flipped payload byte with the artifact error code and stores nothing', async () => {
    const tampered = Buffer.from(signedOther);
    const payload = listEntries(tampered).find((e) => e.name.startsWith('payloads/'))!;
    tampered[payload.dataOffset + 1000] ^= 0xff;
    const before = stored();
    const err = await rejection(upload(client, admin, tampered));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/refused \(payload-hash-mismatch\)/);
    expect(readdirSync(tmpDir())).toEqual([]);
    expect(stored()).toEqual(before);
    expect(existsSync(join(t.dir, 'artifacts', 'sha256', sha(tampered)))).toBe(false);
    expect((await t.hub.store.getArtifact(sha(tampered)))).toBeUndefined();
  });

  it('refuses a signature that does not match the manifest', async () => {
    const forged = Buffer.from(signedTrusted);
    const sig = listEntries(forged).find((e) => e.name === 'manifest.sig')!;
    const text = forged.toString('utf8', sig.dataOffset, sig.dataOffset + sig.size);
    const at = text.indexOf('"signature":"') + 14;
    forged[sig.dataOffset + at] = forged[sig.dataOffset + at] === 0x41 ? 0x42 : 0x41;
    const err = await rejection(upload(client, admin, forged));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/refused \(bad-signature\)/);
    expect(readdirSync(tmpDir())).toEqual([]);
  });

  it('deletes the temp file when the client cancels mid-upload', async () => {
    const before = stored();
    let failed: unknown;
    const stream = client.uploadArtifact(admin, (err) => (failed = err));
    stream.write({ part: { $case: 'header', header: { size: signedTrusted.length, fileName: 'x' } } });
    stream.write({ part: { $case: 'chunk', chunk: signedTrusted.subarray(0, 200_000) } });
    await eventually(() => readdirSync(tmpDir()).length === 1, 5000, 'the upload to reach tmp/');
    stream.cancel();
    await eventually(() => readdirSync(tmpDir()).length === 0, 5000, 'tmp/ to be emptied');
    await eventually(() => failed, 5000, 'the call to fail');
    expect(stored()).toEqual(before);
  });

  it('refuses viewers', async () => {
    const viewer = await t.hub.store.createOperator('watcher', 'viewer', 'test');
    const err = await rejection(upload(client, bearer(viewer.token), unsigned));
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(readdirSync(tmpDir())).toEqual([]);
    // Viewers may still list.
    const list = await call(client, client.listArtifacts, {}, bearer(viewer.token));
    expect(list.artifacts.map((a) => a.name).sort()).toEqual(['os', 'os-other', 'os-unsigned']);
  });

  it('clears leftovers in tmp/ on start', async () => {
    writeFileSync(join(tmpDir(), 'stale.part'), 'half an upload');
    await t.restart();
    client.close();
    client = consoleClient(t.hub);
    expect(readdirSync(tmpDir())).toEqual([]);
    const list = await call(client, client.listArtifacts, {}, admin);
    expect(list.artifacts).toHaveLength(3);
  });
});
