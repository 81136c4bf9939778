import { allowFlags } from '../args';
import { CliError, EXIT, UsageError } from '../cli-error';
import { printJson, readConfig, type CommandContext } from '../command-context';
import { saveConfig } from '../config';
import { table } from '../format';

// `fleetctl contexts [use NAME]`: the saved hubs and which one is current.

export function contexts(ctx: CommandContext): void {
  allowFlags(ctx.args, ['json', 'help']);
  const { path, config } = readConfig(ctx);
  const [sub, name, ...rest] = ctx.operands;
  if (sub === undefined) {
    const names = Object.keys(config.contexts).sort();
    const current = config['current-context'];
    if (ctx.json) return printJson(ctx, names.map((n) => ({ name: n, current: n === current, hub: config.contexts[n].hub, fingerprint: config.contexts[n].fingerprint })));
    if (!names.length) return ctx.note(`no saved contexts in ${path}: run fleetctl login\n`);
    ctx.out(table(['CURRENT', 'NAME', 'HUB', 'FINGERPRINT'], names.map((n) => [n === current ? '*' : '', n, config.contexts[n].hub, config.contexts[n].fingerprint])));
    return;
  }
  if (sub !== 'use' || !name || rest.length) throw new UsageError('usage: fleetctl contexts [use NAME]');
  if (!config.contexts[name]) throw new CliError(`no saved context named "${name}": see fleetctl contexts`, EXIT.failed);
  config['current-context'] = name;
  saveConfig(path, config);
  if (ctx.json) return printJson(ctx, { current: name });
  ctx.out(`switched to context "${name}" (${config.contexts[name].hub})\n`);
}
