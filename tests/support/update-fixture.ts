import type { ServiceError } from '@grpc/grpc-js';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { makeSimRootfs, SIM_ROOTFS_HEADER_BYTES } from '../../agent/sim/sim-rootfs';
import { generateSigningKey, writeArtifact, type SigningKeyPair } from '../../artifact';
import type { Artifact, CreateDeploymentRequest, Deployment, DeploymentDetail } from '../../proto/gen/fleet/v1/console';
import { bearer, unary } from '../../src-main/services/hub-client/hub-connection';
import type { Operator } from './operator';

// Shared steps of update system tests and benchmarks: a signed rootfs
// artifact, its upload, a deployment and waiting for its outcome, all
// through the hub's public ConsoleService.

export { generateSigningKey, type SigningKeyPair };

/**
 * A simulated device's rootfs image of any size, fast: the simulator's header
 * (version, healthy) then an AES-CTR keystream, random-looking (so nothing
 * compresses it away) and reproducible from `seed`. makeSimRootfs's filler
 * costs ~130 ms per MiB, too slow for 128 MiB in a test or 1 GiB in a bench.
 * Returns the image's sha256.
 */
export async function writeSimRootfsImage(file: string, o: { version: string; size: number; seed?: string; healthy?: boolean }): Promise<string> {
  const header = makeSimRootfs({ version: o.version, size: SIM_ROOTFS_HEADER_BYTES, healthy: o.healthy });
  const key = createHash('sha256').update(`sim-rootfs:${o.seed ?? o.version}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  async function* bytes(): AsyncGenerator<Buffer> {
    yield header;
    for (let left = o.size - header.length; left > 0; left -= zeros.length) {
      yield cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
    }
  }
  await pipeline(
    bytes(),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(file),
  );
  return hash.digest('hex');
}

/** Writes a signed rootfs-image artifact of `imageFile`, stored uncompressed (the image is random). */
export async function writeRootfsArtifact(o: { out: string; imageFile: string; name: string; group?: string; version: string; deviceType: string; key: SigningKeyPair }): Promise<void> {
  await writeArtifact(
    {
      name: o.name,
      group: o.group,
      version: o.version,
      deviceTypes: [o.deviceType],
      payloads: [{ type: 'rootfs-image', source: o.imageFile }],
      compression: 'none',
      signingKey: o.key.privateKeyPem,
    },
    createWriteStream(o.out),
  );
}

/** Streams a file to UploadArtifact in 256 KiB chunks, with backpressure. */
export async function uploadArtifact(operator: Operator, file: string, size: number): Promise<Artifact> {
  const res = await new Promise<{ artifact?: Artifact }>((resolve, reject) => {
    const call = operator.client.uploadArtifact(bearer(operator.token), { deadline: Date.now() + 600_000 }, (err: ServiceError | null, r?: { artifact?: Artifact }) => (err ? reject(err) : resolve(r!)));
    (async () => {
      call.write({ part: { $case: 'header', header: { size, fileName: basename(file) } } });
      for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
        if (!call.write({ part: { $case: 'chunk', chunk: chunk as Buffer } })) await new Promise((r) => call.once('drain', r));
      }
      call.end();
    })().catch((err: Error) => {
      call.cancel();
      reject(err);
    });
  });
  return res.artifact!;
}

export function createDeployment(operator: Operator, req: Partial<CreateDeploymentRequest>): Promise<Deployment> {
  const full: CreateDeploymentRequest = { name: '', artifactId: '', artifactName: '', deviceIds: [], group: '', allowDowngrade: false, force: false, ...req };
  return unary(operator.client, operator.client.createDeployment, full, operator.token, 120_000);
}

export function getDeployment(operator: Operator, id: string): Promise<DeploymentDetail> {
  return unary(operator.client, operator.client.getDeployment, { id }, operator.token, 60_000);
}

/** Polls until the deployment is no longer active; fails after `timeoutMs` with the last counts. */
export async function waitForDeploymentEnd(operator: Operator, id: string, timeoutMs: number, everyMs = 250): Promise<DeploymentDetail> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const detail = await getDeployment(operator, id);
    if (detail.deployment!.status !== 'active') return detail;
    if (Date.now() > until) throw new Error(`deployment ${id} still active after ${timeoutMs} ms: ${JSON.stringify(detail.deployment!.counts)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
