import { writeArtifact, type Compression } from '../../artifact';
import { Readable, Writable } from 'node:stream';
import { makeSimRootfs, SIM_ROOTFS_GROUP, type SimRootfsSpec } from '../sim/sim-rootfs';
import { DEFAULT_SIM_DEVICE_TYPE } from '../sim/sim-device';

// Test images for simulated devices: makeSimRootfs({ version, size, healthy })
// is an image whose health check fails on a simulated device when
// `healthy: false` (and that never boots when `boots: false`);
// makeSimRootfsArtifact wraps one in a signed rootfs-image artifact of the
// simulated devices' group.

export { makeSimRootfs, parseSimRootfsHeader, factoryImage, FACTORY_VERSION, SIM_ROOTFS_GROUP, type SimRootfsSpec } from '../sim/sim-rootfs';

export interface SimRootfsArtifactOptions extends SimRootfsSpec {
  /** PKCS8 PEM of the signing key (omit for an unsigned artifact). */
  signingKey?: string;
  /** default: the artifact name "fleetos" */
  name?: string;
  deviceTypes?: string[];
  compression?: Compression;
}

export async function makeSimRootfsArtifact(opts: SimRootfsArtifactOptions): Promise<{ artifact: Buffer; image: Buffer }> {
  const image = makeSimRootfs(opts);
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  await writeArtifact(
    {
      name: opts.name ?? SIM_ROOTFS_GROUP,
      version: opts.version,
      group: SIM_ROOTFS_GROUP,
      deviceTypes: opts.deviceTypes ?? [DEFAULT_SIM_DEVICE_TYPE],
      payloads: [{ type: 'rootfs-image', source: Readable.from([image]), name: `fleetos-${opts.version}.img` }],
      compression: opts.compression ?? 'gzip',
      signingKey: opts.signingKey,
    },
    out,
  );
  return { artifact: Buffer.concat(parts), image };
}
