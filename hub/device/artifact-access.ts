import { status, type Metadata } from '@grpc/grpc-js';
import { storedArtifactPath, type ArtifactPaths } from '../artifacts/artifact-paths';
import { RpcError } from '../rpc-error';
import type { HubStore } from '../store/store';
import { authenticateDevice } from './device-auth';

const ARTIFACT_ID = /^[0-9a-f]{64}$/;

/** An artifact file a device may read, from `offset` on. */
export interface ArtifactGrant {
  deviceId: string;
  path: string;
  size: number;
}

/**
 * The one rule for serving artifact bytes (gRPC Download and the HTTPS byte
 * stream alike): an accepted device with a valid token, an artifact of a
 * deployment it is a target of, an offset inside the file.
 */
export async function grantArtifact(store: HubStore, paths: ArtifactPaths, metadata: Metadata, artifactId: string, offset: number): Promise<ArtifactGrant> {
  const device = await authenticateDevice(store, metadata);
  if (!ARTIFACT_ID.test(artifactId)) throw new RpcError(status.INVALID_ARGUMENT, `artifact_id must be the artifact's sha256 in hex (64 characters), got "${artifactId.slice(0, 80)}"`);
  if (!(await store.deviceMayDownload(device.id, artifactId))) {
    throw new RpcError(status.PERMISSION_DENIED, `device ${device.id} is not a target of any deployment of artifact ${artifactId}`);
  }
  const artifact = await store.getArtifact(artifactId);
  if (!artifact) throw new RpcError(status.NOT_FOUND, `artifact ${artifactId} is not stored on this hub any more`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > artifact.size) {
    throw new RpcError(status.OUT_OF_RANGE, `offset ${offset} is outside artifact ${artifactId} (${artifact.size} bytes): ask from 0 to ${artifact.size}`);
  }
  return { deviceId: device.id, path: storedArtifactPath(paths, artifactId), size: artifact.size };
}
