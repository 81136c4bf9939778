import type { BulkResult, ConsoleApi } from '../../common/console-api';
import { AdmissionStatus } from '../../../proto/gen/fleet/v1/common';
import type { SetAdmissionRequest } from '../../../proto/gen/fleet/v1/console';
import type { DeviceCache } from '../cache/device-cache';
import type { HubSession } from '../connection/hub-session';
import { unary } from '../hub-client/hub-connection';

const MAX_IDS = 10_000;

// The `devices` half of the console API. Reads come from the local cache so
// they work offline; admission goes to the hub, and its effect comes back
// through Watch like any other change (the cache has one writer: the sync).
export function deviceActions(cache: DeviceCache, session: HubSession): ConsoleApi['devices'] {
  const admit = (request: SetAdmissionRequest): Promise<BulkResult> =>
    session.call('admission', async (client, token) => {
      const res = await unary(client, client.setAdmission, request, token);
      return { changed: res.changed, notFound: res.notFound };
    });
  const byIds = async (status: AdmissionStatus, ids: string[]) => admit({ status, ids: checkIds(ids), filter: undefined });
  return {
    query: async (query) => cache.query(query),
    get: async (id) => cache.get(id),
    accept: (ids) => byIds(AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids),
    reject: (ids) => byIds(AdmissionStatus.ADMISSION_STATUS_REJECTED, ids),
    acceptAllMatching: async (query) => {
      const text = query?.text ?? '';
      if (typeof text !== 'string') throw new Error('accept all matching: text must be a string');
      return admit({
        status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED,
        ids: [],
        filter: { status: AdmissionStatus.ADMISSION_STATUS_PENDING, attributes: {}, text: text.trim() },
      });
    },
  };
}

function checkIds(ids: unknown): string[] {
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || !id)) throw new Error('device ids must be a list of non-empty strings');
  if (ids.length === 0) throw new Error('no devices selected');
  if (ids.length > MAX_IDS) throw new Error(`too many devices at once (${ids.length}); select at most ${MAX_IDS} or use "accept all matching"`);
  return [...new Set(ids as string[])];
}
