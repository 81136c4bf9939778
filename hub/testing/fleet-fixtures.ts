import type { Metadata } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildArtifact, prng, randomBytes, testKeys } from '../../artifact/testing/fixtures';
import { AdmissionStatus } from '../../proto/gen/fleet/v1/common';
import type { Artifact, ConsoleServiceClient, UploadArtifactResponse } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient, HubMessage } from '../../proto/gen/fleet/v1/device';
import type { ArtifactRecord } from '../store/store';
import { openControlStream, type ControlStream } from './control-stream';
import { enroll, makeDeviceKey } from './device-identity';
import { bearer } from './grpc-clients';
import type { TestHub } from './test-hub';

// Fleet pieces for deployment tests: real artifacts uploaded through the
// console API, accepted devices with open control streams.

export function uploadBytes(client: ConsoleServiceClient, md: Metadata, bytes: Buffer): Promise<UploadArtifactResponse> {
  return new Promise((resolve, reject) => {
    const stream = client.uploadArtifact(md, { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
    stream.write({ part: { $case: 'header', header: { size: bytes.length, fileName: 'test.fleet' } } });
    for (let i = 0; i < bytes.length; i += 256 * 1024) stream.write({ part: { $case: 'chunk', chunk: bytes.subarray(i, i + 256 * 1024) } });
    stream.end();
  });
}

export interface TestArtifactOptions {
  name: string;
  version: string;
  deviceTypes: string[];
  /** Payload bytes (random, so the artifact is about this big). */
  size?: number;
  seed?: number;
}

/** Builds a signed artifact with a random rootfs payload and uploads it; returns the artifact and its bytes. */
export async function uploadTestArtifact(t: TestHub, client: ConsoleServiceClient, opts: TestArtifactOptions): Promise<{ artifact: Artifact; bytes: Buffer }> {
  const bytes = await buildArtifact({
    name: opts.name,
    version: opts.version,
    deviceTypes: opts.deviceTypes,
    compression: 'gzip',
    signingKey: testKeys()[0].privateKeyPem,
    payloads: [{ type: 'rootfs-image', name: 'rootfs.img', data: randomBytes(prng(opts.seed ?? 1), opts.size ?? 100_000) }],
  });
  const res = await uploadBytes(client, bearer(t.hub.adminToken), bytes);
  return { artifact: res.artifact!, bytes };
}

/**
 * Stores arbitrary bytes as an artifact straight into the hub's data folder
 * and database, for Download tests of sizes where building a real artifact
 * would only cost time (Download serves the stored file as it is).
 */
export async function placeRawArtifact(t: TestHub, bytes: Buffer, name: string, deviceTypes: string[]): Promise<ArtifactRecord> {
  const id = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(t.dir, 'artifacts', 'sha256', id), bytes);
  const record: ArtifactRecord = {
    id,
    name,
    version: '1',
    group: name,
    deviceTypes,
    provides: {},
    size: bytes.length,
    signatureStatus: 'unsigned',
    keyId: '',
    uploadedMs: Date.now(),
    uploadedBy: 'test',
    payloadSummary: 'raw',
  };
  return (await t.hub.store.addArtifact(record)).artifact;
}

export interface TestDevice {
  id: string;
  token: string;
  identity: Record<string, string>;
}

let serial = 0;

/** Enrolls a new device with this device type, accepts it, and gets its token. */
export async function acceptedDevice(t: TestHub, devices: DeviceServiceClient, deviceType: string, inventory?: Record<string, string>): Promise<TestDevice> {
  const key = makeDeviceKey();
  const identity = { device_type: deviceType, serial: `SN-${process.pid}-${++serial}` };
  const first = await enroll(devices, key, identity);
  await t.hub.store.setAdmission({ ids: [first.deviceId] }, 'accepted', 'test');
  if (inventory) await t.hub.store.updateInventory(first.deviceId, inventory, true, 'test');
  const second = await enroll(devices, key, identity);
  if (second.status !== AdmissionStatus.ADMISSION_STATUS_ACCEPTED) throw new Error(`device ${second.deviceId} was not accepted`);
  return { id: second.deviceId, token: second.token, identity };
}

/** Opens the control stream and takes the Hello. */
export async function online(devices: DeviceServiceClient, device: TestDevice): Promise<ControlStream> {
  const stream = openControlStream(devices, device.token);
  const hello = await stream.next();
  if (hello.msg?.$case !== 'hello') throw new Error(`expected Hello first, got ${hello.msg?.$case}`);
  return stream;
}

/** The next message that is not a heartbeat ack. */
export async function nextCommand(stream: ControlStream, timeoutMs = 5000): Promise<HubMessage> {
  for (;;) {
    const m = await stream.next(timeoutMs);
    if (m.msg?.$case !== 'heartbeatAck') return m;
  }
}

/** Resolves true when no message other than heartbeat acks arrives within `ms`. */
export async function quiet(stream: ControlStream, ms = 400): Promise<boolean> {
  try {
    const m = await nextCommand(stream, ms);
    throw new Error(`expected no hub message, got ${JSON.stringify(m.msg)}`);
  } catch (err) {
    if ((err as Error).message.startsWith('no hub message')) return true;
    throw err;
  }
}

