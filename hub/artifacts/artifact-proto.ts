import type { Artifact } from '../../proto/gen/fleet/v1/console';
import type { ArtifactRecord } from '../store/store';

export function toProtoArtifact(a: ArtifactRecord): Artifact {
  return {
    id: a.id,
    name: a.name,
    version: a.version,
    group: a.group,
    deviceTypes: a.deviceTypes,
    provides: a.provides,
    size: a.size,
    signatureStatus: a.signatureStatus,
    keyId: a.keyId,
    uploadedMs: a.uploadedMs,
    uploadedBy: a.uploadedBy,
    payloadSummary: a.payloadSummary,
  };
}
