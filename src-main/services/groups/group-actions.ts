import type { ConsoleApi, GroupChange } from '../../common/console-api';
import type { HubSession } from '../connection/hub-session';
import { unary } from '../hub-client/hub-connection';
import { dynamicGroupActions } from './dynamic-groups';
import { groupWindowActions } from './group-windows';

const MAX_IDS = 10_000;

// The `groups` half of the console API: static and dynamic groups live on
// the hub (they are deployment targets), so every call goes to the live hub.
export function groupActions(session: HubSession): ConsoleApi['groups'] {
  return {
    list: () =>
      session.call('listing groups', async (client, token) => {
        const res = await unary(client, client.listGroups, {}, token);
        return res.groups.map((g) => ({ name: g.name, deviceIds: g.deviceIds }));
      }),
    setMembers: (name, change) =>
      session.call('changing a group', async (client, token) => {
        const req = { name: checkName(name), add: checkIds(change?.add, 'add'), remove: checkIds(change?.remove, 'remove') };
        if (!req.add.length && !req.remove.length) throw new Error('no change: give devices to add or remove');
        const g = await unary(client, client.setGroupMembers, req, token);
        return { name: g.name, deviceIds: g.deviceIds };
      }),
    ...dynamicGroupActions(session),
    ...groupWindowActions(session),
  };
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !name.trim()) throw new Error('the group needs a name');
  return name.trim();
}

function checkIds(ids: GroupChange['add'], what: string): string[] {
  if (ids === undefined) return [];
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || !id)) throw new Error(`devices to ${what} must be a list of non-empty strings`);
  if (ids.length > MAX_IDS) throw new Error(`too many devices at once (${ids.length}); at most ${MAX_IDS}`);
  return [...new Set(ids)];
}
