import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkCompatibility, isArtifactError, readArtifact, trustedKeySet, type Manifest, type PayloadInfo, type TrustedKeys } from '../../artifact';
import type { InstallContext, InstallerRegistry } from './installer';
import { UpdateError } from './update-error';

// The verify-and-store step: the downloaded file is read with readArtifact
// (signature against the trusted keys before anything else, then every
// payload hashed while it streams) and each payload's bytes go straight to
// its installer's store(), which puts them somewhere inactive. Compatibility
// and "already installed" are decided on the signed manifest, before any
// payload byte moves. Hook payloads are kept in the deployment folder for
// the hook runner.

export interface StoreArtifactOptions {
  file: string;
  trustedKeys: readonly string[];
  deviceType: string;
  provides: Record<string, string>;
  allowDowngrade: boolean;
  force: boolean;
  installers: InstallerRegistry;
  /** Where hook payloads go (file name: the payload index). */
  hooksDir: string;
  contextFor(manifest: Manifest, payload: PayloadInfo): Promise<InstallContext>;
  /** Called with the verified, compatible manifest before any payload is stored. */
  onManifest(manifest: Manifest): Promise<void>;
}

export function artifactHookFile(hooksDir: string, payloadIndex: number): string {
  return join(hooksDir, String(payloadIndex));
}

// Trusted keys parsed once per list (the engine passes the same list every
// time, and a simulator's devices share one): parsing the PEM keys was ~3 %
// of a simulator's CPU with every device storing an artifact.
const keySets = new WeakMap<readonly string[], TrustedKeys>();

function trustedKeys(keys: readonly string[]): TrustedKeys {
  let set = keySets.get(keys);
  if (!set) {
    set = trustedKeySet(keys);
    keySets.set(keys, set);
  }
  return set;
}

export async function storeArtifact(o: StoreArtifactOptions): Promise<Manifest> {
  try {
    // Exactly the file's bytes: without `end` a file stream allocates a
    // whole highWaterMark (1 MiB) per read, the read that finds the end too:
    // 2 MiB of short-lived buffers to read a 69 KiB artifact, much of the
    // garbage collection of 3,000 simulated devices storing one.
    const { size } = await stat(o.file);
    const input = createReadStream(o.file, size > 0 ? { highWaterMark: 1024 * 1024, start: 0, end: size - 1 } : {});
    const result = await readArtifact(input, {
      trustedKeys: trustedKeys(o.trustedKeys),
      onManifest: async (manifest) => {
        let compat;
        try {
          compat = checkCompatibility(manifest, { deviceType: o.deviceType, provides: o.provides, allowDowngrade: o.allowDowngrade });
        } catch (err) {
          throw new UpdateError(`incompatible: ${(err as Error).message}`, 'incompatible');
        }
        if (compat.sameVersion && !o.force) {
          throw new UpdateError(`already installed: the device runs ${manifest.name} ${manifest.version} (group ${manifest.group}); deploy with force to install it again`, 'already-installed');
        }
        const missing = manifest.payloads.filter((p) => p.type !== 'hook' && !o.installers(p.type)).map((p) => p.type);
        if (missing.length) throw new UpdateError(`incompatible: this device has no installer for payload type ${[...new Set(missing)].join(', ')}`, 'incompatible');
        await o.onManifest(manifest);
      },
      onPayload: async (payload, stream, manifest) => {
        if (payload.type === 'hook') return storeHook(o.hooksDir, payload, stream);
        await o.installers(payload.type)!.store(await o.contextFor(manifest, payload), stream);
      },
    });
    return result.manifest;
  } catch (err) {
    if (err instanceof UpdateError) throw err;
    if (isArtifactError(err)) throw new UpdateError(`artifact refused (${err.code}): ${err.message}`);
    throw err;
  }
}

async function storeHook(dir: string, payload: PayloadInfo, stream: Readable): Promise<void> {
  await mkdir(dir, { recursive: true });
  await pipeline(stream, createWriteStream(artifactHookFile(dir, payload.index), { mode: 0o755 }));
}
