import type { ArtifactRow, ConsoleApi, SignatureStatus } from '../../common/console-api';
import type { Artifact } from '../../../proto/gen/fleet/v1/console';
import type { HubSession } from '../connection/hub-session';
import { unary } from '../hub-client/hub-connection';

const STATUSES: readonly SignatureStatus[] = ['trusted', 'untrusted-key', 'unsigned'];

// The `artifacts` half of the console API. Artifacts are not cached locally:
// the list is asked of the live hub, and HubSession.call explains when it is
// not reachable ("hub unreachable — listing artifacts needs the hub").
export function artifactList(session: HubSession): Pick<ConsoleApi['artifacts'], 'list'> {
  return {
    list: () =>
      session.call('listing artifacts', async (client, token) => {
        const res = await unary(client, client.listArtifacts, {}, token);
        return res.artifacts.map(toArtifactRow);
      }),
  };
}

export function toArtifactRow(a: Artifact): ArtifactRow {
  if (!STATUSES.includes(a.signatureStatus as SignatureStatus)) {
    throw new Error(`the hub reported artifact ${a.name} ${a.version} with an unknown signature status "${a.signatureStatus}"; update the console`);
  }
  return {
    id: a.id,
    name: a.name,
    version: a.version,
    group: a.group,
    deviceTypes: a.deviceTypes,
    size: a.size,
    signatureStatus: a.signatureStatus as SignatureStatus,
    keyId: a.keyId,
    uploadedMs: a.uploadedMs,
    uploadedBy: a.uploadedBy,
    payloadSummary: a.payloadSummary,
  };
}
