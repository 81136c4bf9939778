import { allowFlags } from '../args';
import { UsageError } from '../cli-error';
import { GLOBAL_FLAGS, noOperands, printJson, withSession, type CommandContext } from '../command-context';
import { table } from '../format';

// `fleetctl groups add G ID... | remove G ID... | list`: static groups, the
// named sets of devices a deployment can target with --group.

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

export async function groupsList(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  noOperands(ctx);
  const { groups } = await withSession(ctx, (s) => s.call((c) => c.listGroups, {}));
  if (ctx.json) return printJson(ctx, groups);
  if (!groups.length) return ctx.note('No groups: make one with fleetctl groups add NAME DEVICE_ID...\n');
  ctx.out(table(['GROUP', 'DEVICES', 'MEMBERS'], groups.map((g) => [g.name, String(g.deviceIds.length), members(g.deviceIds)])));
}

/** The first few ids: a big group must not make a screen-wide line. */
function members(ids: readonly string[], shown = 3): string {
  return ids.length <= shown ? ids.join(',') : `${ids.slice(0, shown).join(',')},… (+${ids.length - shown})`;
}
