// The UploadArtifact handler: role check, receive into tmp/, verify, then
// store content-addressed (rename into sha256/) and record the row plus the
// artifact.uploaded event. Whatever fails, nothing stays in tmp/.
import { status } from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { isArtifactError } from '../../artifact';
import type { UploadArtifactResponse } from '../../proto/gen/fleet/v1/console';
import { requireRole } from '../auth/operator-auth';
import { RpcError } from '../rpc-error';
import type { ArtifactRecord, HubStore, Operator } from '../store/store';
import { toProtoArtifact } from './artifact-proto';
import { storedArtifactPath, type ArtifactPaths } from './artifact-paths';
import { receiveUpload, type UploadCall } from './receive-upload';
import { loadTrustedKeys } from './trusted-keys';
import { payloadSummary, verifyArtifactFile } from './verify-artifact';

export interface UploadContext {
  store: HubStore;
  paths: ArtifactPaths;
  log: (line: string) => void;
}

export async function uploadArtifact(ctx: UploadContext, operator: Operator, call: UploadCall): Promise<UploadArtifactResponse> {
  requireRole(operator, 'operator', 'uploading an artifact');
  const upload = await receiveUpload(call, ctx.paths.tmp);
  try {
    const trusted = loadTrustedKeys(ctx.paths.trustedKeys);
    for (const problem of trusted.problems) ctx.log(`trusted key skipped: ${problem}`);
    let verified;
    try {
      verified = await verifyArtifactFile(upload.tmpFile, trusted.keys);
    } catch (err) {
      const what = upload.header.fileName ? `artifact ${upload.header.fileName}` : 'artifact';
      if (isArtifactError(err)) throw new RpcError(status.INVALID_ARGUMENT, `${what} refused (${err.code}): ${err.message}`);
      throw err;
    }
    const target = storedArtifactPath(ctx.paths, upload.sha256);
    if (existsSync(target)) await rm(upload.tmpFile, { force: true });
    else await rename(upload.tmpFile, target);
    const { manifest } = verified;
    const record: ArtifactRecord = {
      id: upload.sha256,
      name: manifest.name,
      version: manifest.version,
      group: manifest.group,
      deviceTypes: manifest.deviceTypes,
      provides: manifest.provides,
      size: upload.header.size,
      signatureStatus: verified.signatureStatus,
      keyId: verified.keyId,
      uploadedMs: Date.now(),
      uploadedBy: operator.name,
      payloadSummary: payloadSummary(manifest),
    };
    const stored = await ctx.store.addArtifact(record);
    if (stored.created) ctx.log(`artifact ${record.name} ${record.version} (${record.id.slice(0, 12)}, ${record.signatureStatus}) uploaded by ${operator.name}`);
    return { artifact: toProtoArtifact(stored.artifact), deduplicated: !stored.created };
  } finally {
    await rm(upload.tmpFile, { force: true });
  }
}
