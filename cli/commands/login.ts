import { Role, type WhoAmIResponse } from '../../proto/gen/fleet/v1/console';
import { normalizeFingerprint } from '../../proto/tls-fingerprint';
import { allowFlags } from '../args';
import { readCaFile } from '../ca-file';
import { CliError, EXIT, UsageError } from '../cli-error';
import { GLOBAL_FLAGS, noOperands, printJson, readConfig, target, withSession, type CommandContext } from '../command-context';
import { saveConfig } from '../config';
import { keyValueLines } from '../format';
import { checkFingerprint, openSession, probe } from '../hub-session';

// `fleetctl login`, `logout` and `whoami`: who you are on which hub.

export async function login(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'fingerprint', 'trust-on-first-use']);
  noOperands(ctx);
  const hub = ctx.args.strings.get('hub') || ctx.env.FLEET_HUB;
  if (!hub) throw new UsageError('needs --hub HOST:PORT (or FLEET_HUB)');
  const token = ctx.args.strings.get('token') || ctx.env.FLEET_TOKEN;
  if (!token) throw new UsageError("needs --token (or FLEET_TOKEN): the hub's DATA/admin.token or a token an admin gave you");

  const trust = await establishTrust(ctx, hub, trustChoice(ctx));

  const session = await openSession({ hub, token, ...trust, trustSource: 'the hub just probed' });
  let me: WhoAmIResponse;
  try {
    me = await session.call((c) => c.whoAmI, {});
  } finally {
    session.close();
  }

  const name = ctx.args.strings.get('context') || hub;
  const { path, config } = readConfig(ctx);
  config.contexts[name] = { hub, token, ...trust };
  config['current-context'] = name;
  saveConfig(path, config);
  show(ctx, me, { hub, fingerprint: trust.fingerprint, context: name }, `logged in to ${hub}; saved as context "${name}" in ${path}\n`);
}

/** How the operator chose to trust the hub: exactly one way, checked before any network. */
type TrustChoice = { kind: 'ca'; file: string; source: string } | { kind: 'fingerprint'; fingerprint: string } | { kind: 'tofu' };

function trustChoice(ctx: CommandContext): TrustChoice {
  const caFlag = ctx.args.strings.get('ca');
  const pinned = ctx.args.strings.get('fingerprint');
  const tofu = ctx.args.booleans.has('trust-on-first-use');
  if ([caFlag !== undefined, pinned !== undefined, tofu].filter(Boolean).length > 1) throw new UsageError('give only one of --ca, --fingerprint and --trust-on-first-use');
  if (pinned !== undefined) {
    try {
      return { kind: 'fingerprint', fingerprint: normalizeFingerprint(pinned) };
    } catch (err) {
      throw new UsageError(`--fingerprint: ${(err as Error).message} (expected 32 hex pairs, as fleet-hub prints it)`);
    }
  }
  if (tofu) return { kind: 'tofu' };
  if (caFlag) return { kind: 'ca', file: caFlag, source: `--ca ${caFlag}` };
  if (ctx.env.FLEET_CA) return { kind: 'ca', file: ctx.env.FLEET_CA, source: `FLEET_CA=${ctx.env.FLEET_CA}` };
  throw new UsageError("needs the hub's certificate: --ca FILE (DATA/hub.crt), --fingerprint FP or --trust-on-first-use");
}

/** Probes the hub and checks its certificate against the choice; returns what to save. */
async function establishTrust(ctx: CommandContext, hub: string, choice: TrustChoice): Promise<{ caPem: string; fingerprint: string }> {
  const ca = choice.kind === 'ca' ? readCaFile(choice.file) : undefined;
  const seen = await probe(hub);
  if (choice.kind === 'ca') checkFingerprint(seen.fingerprint, ca!.fingerprint, choice.source);
  if (choice.kind === 'fingerprint') checkFingerprint(seen.fingerprint, choice.fingerprint, '--fingerprint');
  if (choice.kind === 'tofu') ctx.note(`trusting the hub certificate on first use: fingerprint ${seen.fingerprint}\n`);
  return { caPem: ca?.pem ?? seen.pem, fingerprint: seen.fingerprint };
}

export function logout(ctx: CommandContext): void {
  allowFlags(ctx.args, ['context', 'json', 'help']);
  noOperands(ctx);
  const { path, config } = readConfig(ctx);
  const name = ctx.args.strings.get('context') || config['current-context'];
  if (!name) throw new CliError('not logged in: no current context', EXIT.failed);
  if (!config.contexts[name]) throw new CliError(`no saved context named "${name}": see fleetctl contexts`, EXIT.failed);
  delete config.contexts[name];
  if (config['current-context'] === name) config['current-context'] = '';
  saveConfig(path, config);
  if (ctx.json) return printJson(ctx, { removed: name });
  ctx.out(`logged out: removed context "${name}" from ${path}\n`);
}

export async function whoami(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  noOperands(ctx);
  const t = target(ctx);
  const me = await withSession(ctx, (s) => s.call((c) => c.whoAmI, {}));
  show(ctx, me, { hub: t.hub, fingerprint: t.fingerprint, context: t.context ?? '' });
}

function show(ctx: CommandContext, me: WhoAmIResponse, where: { hub: string; fingerprint: string; context: string }, headline = ''): void {
  const facts = { operator: me.operator, role: roleName(me.role), hub: where.hub, 'hub id': me.hubId, 'hub version': me.hubVersion, fingerprint: where.fingerprint, context: where.context };
  if (ctx.json) return printJson(ctx, { operator: facts.operator, role: facts.role, hub: facts.hub, hubId: me.hubId, hubVersion: me.hubVersion, fingerprint: facts.fingerprint, context: facts.context });
  if (headline) ctx.note(headline);
  ctx.out(keyValueLines(facts, ''));
}

function roleName(role: Role): string {
  return { [Role.ROLE_VIEWER]: 'viewer', [Role.ROLE_OPERATOR]: 'operator', [Role.ROLE_ADMIN]: 'admin' }[role as number] ?? 'none';
}
