import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ServiceError } from '@grpc/grpc-js';
import { writeArtifact } from '../../../artifact';
import { makeSimRootfs, SIM_ROOTFS_GROUP } from '../../../agent/sim/sim-rootfs';
import { DEFAULT_SIM_DEVICE_TYPE } from '../../../agent/sim/sim-device';
import type { UploadArtifactResponse } from '../../../proto/gen/fleet/v1/console';
import { bearer, createConsoleClient, HubCallError } from '../hub-client/hub-connection';
import type { DemoSigningKey } from './demo-signing-key';

// Ready-to-deploy artifacts for the embedded demo fleet, signed with its
// demo key: a good FleetOS 1.1.0 for the simulated devices, and a 1.2.0
// whose health check fails so the automatic rollback can be watched. Made
// once in the data folder (drop them on the Artifacts view); the good one
// is also uploaded to the hub when first made, so a newcomer can deploy at
// once.

export interface DemoArtifact {
  file: string;
  version: string;
  healthy: boolean;
}

const DEMOS: Omit<DemoArtifact, 'file'>[] = [
  { version: '1.1.0', healthy: true },
  { version: '1.2.0', healthy: false },
];
/** Big enough for the download progress to be seen, small enough to stay instant. */
const IMAGE_BYTES = 2 * 1024 * 1024;

/** Writes the demo artifacts that are missing; returns all of them and which were new. */
export async function ensureDemoArtifacts(dir: string, key: DemoSigningKey): Promise<{ all: DemoArtifact[]; made: DemoArtifact[] }> {
  mkdirSync(dir, { recursive: true });
  const all: DemoArtifact[] = [];
  const made: DemoArtifact[] = [];
  for (const demo of DEMOS) {
    const file = join(dir, `fleetos-${demo.version}${demo.healthy ? '' : '-unhealthy'}-${DEFAULT_SIM_DEVICE_TYPE}.fleet`);
    const artifact = { ...demo, file };
    all.push(artifact);
    if (existsSync(file)) continue;
    const image = makeSimRootfs({ version: demo.version, size: IMAGE_BYTES, healthy: demo.healthy });
    await writeArtifact(
      {
        name: SIM_ROOTFS_GROUP,
        version: demo.version,
        group: SIM_ROOTFS_GROUP,
        deviceTypes: [DEFAULT_SIM_DEVICE_TYPE],
        payloads: [{ type: 'rootfs-image', source: Readable.from([image]), name: `fleetos-${demo.version}.img` }],
        compression: 'gzip',
        signingKey: key.privateKeyPem,
      },
      createWriteStream(`${file}.tmp`),
    );
    renameSync(`${file}.tmp`, file); // a half-written demo never passes for a whole one
    made.push(artifact);
  }
  return { all, made };
}

/** Streams one file to the hub's UploadArtifact as its admin, in 256 KiB chunks with backpressure. */
export async function uploadToHub(target: { hub: string; token: string; certPem: string }, file: string): Promise<UploadArtifactResponse> {
  const client = createConsoleClient({ hub: target.hub, token: target.token, caPem: target.certPem });
  const size = statSync(file).size;
  try {
    return await new Promise<UploadArtifactResponse>((resolve, reject) => {
      const call = client.uploadArtifact(bearer(target.token), { deadline: Date.now() + 60_000 }, (err: ServiceError | null, res?: UploadArtifactResponse) =>
        err ? reject(new HubCallError(err)) : resolve(res!),
      );
      call.write({ part: { $case: 'header', header: { size, fileName: basename(file) } } });
      (async () => {
        for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
          if (!call.write({ part: { $case: 'chunk', chunk: chunk as Buffer } })) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      })().catch((err: Error) => {
        call.cancel();
        reject(err);
      });
    });
  } finally {
    client.close();
  }
}
