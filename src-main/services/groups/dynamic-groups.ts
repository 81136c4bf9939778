import { CONDITION_OPS, type AttributeQuery, type ConsoleApi, type DynamicGroupRow } from '../../common/console-api';
import type { DeviceQuery, DynamicGroup } from '../../../proto/gen/fleet/v1/console';
import type { HubSession } from '../connection/hub-session';
import { unary } from '../hub-client/hub-connection';

type DynamicGroupActions = Pick<ConsoleApi['groups'], 'listDynamic' | 'getDynamic' | 'createDynamic' | 'deleteDynamic' | 'preview'>;

const MAX_CONDITIONS = 50;
const LIST_OPS = new Set(['in', 'not-in']);
const NO_VALUE_OPS = new Set(['exists', 'not-exists']);

// Dynamic groups: saved device filters that live on the hub (deployment
// targets that grow as devices come to match). The preview is what the
// wizard and the filter builder show as a live count.
export function dynamicGroupActions(session: HubSession): DynamicGroupActions {
  return {
    listDynamic: () =>
      session.call('listing dynamic groups', async (client, token) => (await unary(client, client.listDynamicGroups, {}, token)).groups.map(toRow)),
    getDynamic: (name) =>
      session.call('reading a dynamic group', async (client, token) => {
        const res = await unary(client, client.getDynamicGroup, { name: checkName(name) }, token);
        if (!res.group) throw new Error(`the hub answered dynamic group ${name} without it; update the console`);
        return { group: toRow(res.group), deviceIds: res.deviceIds };
      }),
    createDynamic: (name, query, replace) =>
      session.call('saving a dynamic group', async (client, token) =>
        toRow(await unary(client, client.createDynamicGroup, { name: checkName(name), query: checkQuery(query), replace: replace === true }, token)),
      ),
    deleteDynamic: (name) =>
      session.call('deleting a dynamic group', async (client, token) => toRow(await unary(client, client.deleteDynamicGroup, { name: checkName(name) }, token))),
    preview: (query) =>
      session.call('counting matching devices', async (client, token) => {
        const res = await unary(client, client.previewDeviceQuery, { query: checkQuery(query) }, token);
        return { matching: res.matching, sample: res.sample };
      }),
  };
}

function toRow(g: DynamicGroup): DynamicGroupRow {
  return {
    name: g.name,
    query: { conditions: (g.query?.conditions ?? []).map((c) => ({ attribute: c.attribute, op: c.op as AttributeQuery['conditions'][number]['op'], value: c.value, values: c.values })) },
    createdBy: g.createdBy,
    createdMs: g.createdMs,
    matching: g.matching,
    window: g.window?.cron ? { ...g.window } : null,
  };
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !name.trim()) throw new Error('the dynamic group needs a name');
  return name.trim();
}

/** Shapes only; the hub judges regexes and names. */
export function checkQuery(query: AttributeQuery): DeviceQuery {
  const conditions = query?.conditions;
  if (!Array.isArray(conditions)) throw new Error('a filter is a list of conditions');
  if (conditions.length > MAX_CONDITIONS) throw new Error(`too many conditions (${conditions.length}); at most ${MAX_CONDITIONS}`);
  return {
    conditions: conditions.map((c, i) => {
      const n = i + 1;
      if (!c || typeof c.attribute !== 'string' || !c.attribute.trim()) throw new Error(`condition ${n} needs an attribute`);
      if (!CONDITION_OPS.includes(c.op)) throw new Error(`condition ${n}: unknown operator "${String(c.op)}"; use ${CONDITION_OPS.join(', ')}`);
      const values = LIST_OPS.has(c.op) ? (c.values ?? []).filter((v) => typeof v === 'string' && v !== '') : [];
      if (LIST_OPS.has(c.op) && values.length === 0) throw new Error(`condition ${n} (${c.op}) needs at least one value`);
      const value = LIST_OPS.has(c.op) || NO_VALUE_OPS.has(c.op) ? '' : typeof c.value === 'string' ? c.value : '';
      return { attribute: c.attribute.trim(), op: c.op, value, values };
    }),
  };
}
