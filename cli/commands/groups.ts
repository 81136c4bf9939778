import type { DynamicGroup, Group } from '../../proto/gen/fleet/v1/console';
import { allowFlags } from '../args';
import { CliError, EXIT, UsageError } from '../cli-error';
import { GLOBAL_FLAGS, noOperands, printJson, withSession, type CommandContext } from '../command-context';
import { keyValueLines, table } from '../format';
import type { HubSession } from '../hub-session';
import { windowFlags } from '../rollout-flags';
import { windowText } from '../rollout-view';
import { conditionText, parseWhere } from '../where';

// `fleetctl groups ...`: static groups (named sets of devices, --group) and
// dynamic groups (saved inventory queries, --dynamic-group), and the
// maintenance windows of both.

export async function groupsChange(ctx: CommandContext, verb: 'add' | 'remove'): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  const [name, ...ids] = ctx.operands;
  if (!name || !ids.length) throw new UsageError(`needs a group NAME and the device IDs to ${verb}`);
  const unique = [...new Set(ids)];
  const group = await withSession(ctx, (s) => s.call((c) => c.setGroupMembers, { name, add: verb === 'add' ? unique : [], remove: verb === 'remove' ? unique : [] }));
  if (ctx.json) return printJson(ctx, group);
  const n = group.deviceIds.length;
  ctx.out(`group ${group.name}: ${n} ${n === 1 ? 'device' : 'devices'}\n`);
}

/** A dynamic group from --where conditions; --dry-run only counts the matching devices. */
export async function groupsCreate(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'where', 'replace', 'dry-run']);
  const name = oneName(ctx);
  const wheres = ctx.args.lists.get('where') ?? [];
  if (!wheres.length) throw new UsageError(`needs at least one --where condition, e.g. --where 'device_type=pi4'`);
  const query = { conditions: wheres.map(parseWhere) };
  if (ctx.args.booleans.has('dry-run')) {
    const preview = await withSession(ctx, (s) => s.call((c) => c.previewDeviceQuery, { query }));
    if (ctx.json) return printJson(ctx, preview);
    ctx.out(`${preview.matching} matching ${preview.matching === 1 ? 'device' : 'devices'}${preview.sample.length ? `: ${preview.sample.join(', ')}${preview.matching > preview.sample.length ? ', …' : ''}` : ''}\n`);
    return;
  }
  const group = await withSession(ctx, (s) => s.call((c) => c.createDynamicGroup, { name, query, replace: ctx.args.booleans.has('replace') }));
  if (ctx.json) return printJson(ctx, group);
  ctx.out(`dynamic group ${group.name}: ${group.matching} matching ${group.matching === 1 ? 'device' : 'devices'} now\n`);
}

/** Static and dynamic groups in one table. */
export async function groupsList(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  noOperands(ctx);
  const [{ groups }, dynamic] = await withSession(ctx, (s) => Promise.all([s.call((c) => c.listGroups, {}), s.call((c) => c.listDynamicGroups, {})]));
  if (ctx.json) return printJson(ctx, { groups, dynamicGroups: dynamic.groups });
  if (!groups.length && !dynamic.groups.length) return ctx.note("No groups: make one with fleetctl groups add NAME DEVICE_ID... or fleetctl groups create NAME --where 'k=v'\n");
  const rows = [
    ...groups.map((g) => [g.name, 'static', String(g.deviceIds.length), members(g.deviceIds), g.window ? windowText(g.window) : '-']),
    ...dynamic.groups.map((g) => [g.name, 'dynamic', String(g.matching), queryText(g), g.window ? windowText(g.window) : '-']),
  ];
  ctx.out(table(['GROUP', 'KIND', 'DEVICES', 'MEMBERS/QUERY', 'WINDOW'], rows));
}

/** A dynamic group (its query and the devices matching now) or a static one (its members). */
export async function groupsShow(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  const name = oneName(ctx);
  const found = await withSession(ctx, (s) => findGroup(s, name));
  if (found.kind === 'dynamic') {
    const detail = found.detail;
    if (ctx.json) return printJson(ctx, detail);
    const g = detail.group!;
    const facts = { group: g.name, kind: 'dynamic', query: queryText(g), matching: String(g.matching), window: windowText(g.window), created: `${new Date(g.createdMs).toISOString()} by ${g.createdBy}` };
    ctx.out(`${keyValueLines(facts, '')}${detail.deviceIds.map((id) => `${id}\n`).join('')}`);
    return;
  }
  const g = found.group;
  if (ctx.json) return printJson(ctx, g);
  ctx.out(`${keyValueLines({ group: g.name, kind: 'static', devices: String(g.deviceIds.length), window: windowText(g.window) }, '')}${g.deviceIds.map((id) => `${id}\n`).join('')}`);
}

export async function groupsDelete(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  const name = oneName(ctx);
  const group = await withSession(ctx, (s) => s.call((c) => c.deleteDynamicGroup, { name }));
  if (ctx.json) return printJson(ctx, group);
  ctx.out(`dynamic group ${group.name} deleted\n`);
}

/** Sets (or with --clear removes) the maintenance window of a static or dynamic group. */
export async function groupsWindow(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'window', 'window-length', 'tz', 'clear']);
  const name = oneName(ctx);
  const clear = ctx.args.booleans.has('clear');
  const window = windowFlags(ctx.args);
  if (clear === Boolean(window)) throw new UsageError('give --window "CRON" --window-length DURATION [--tz ZONE], or --clear to remove the window');
  const set = await withSession(ctx, async (s) => {
    const found = await findGroup(s, name, true);
    return s.call((c) => c.setGroupWindow, { group: name, dynamic: found.kind === 'dynamic', window });
  });
  if (ctx.json) return printJson(ctx, set);
  ctx.out(`${set.dynamic ? 'dynamic' : 'static'} group ${set.group}: window ${windowText(set.window)}\n`);
}

type FoundGroup = { kind: 'dynamic'; detail: Awaited<ReturnType<typeof getDynamic>> } | { kind: 'static'; group: Group };

function getDynamic(s: HubSession, name: string) {
  return s.call((c) => c.getDynamicGroup, { name });
}

/**
 * A dynamic group of that name, else a static one. `staticMayBeNew`: a
 * window may be set on a static group name before it has members.
 */
async function findGroup(s: HubSession, name: string, staticMayBeNew = false): Promise<FoundGroup> {
  const { groups: dynamic } = await s.call((c) => c.listDynamicGroups, {});
  const { groups } = await s.call((c) => c.listGroups, {});
  const group = groups.find((g) => g.name === name);
  if (dynamic.some((g) => g.name === name)) {
    if (group) throw new CliError(`both a static and a dynamic group are named "${name}": remove the static group's members or delete the dynamic group`, EXIT.failed);
    return { kind: 'dynamic', detail: await getDynamic(s, name) };
  }
  if (group) return { kind: 'static', group };
  if (staticMayBeNew) return { kind: 'static', group: { name, deviceIds: [] } };
  throw new CliError(`no group "${name}" on this hub: see fleetctl groups list`, EXIT.failed);
}

function oneName(ctx: CommandContext): string {
  if (ctx.operands.length !== 1) throw new UsageError('needs exactly one group NAME');
  return ctx.operands[0];
}

function queryText(g: DynamicGroup): string {
  return (g.query?.conditions ?? []).map(conditionText).join(' and ') || '(every accepted device)';
}

/** The first few ids: a big group must not make a screen-wide line. */
function members(ids: readonly string[], shown = 3): string {
  return ids.length <= shown ? ids.join(',') : `${ids.slice(0, shown).join(',')},… (+${ids.length - shown})`;
}
