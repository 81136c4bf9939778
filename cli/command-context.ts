import type { ParsedArgs } from './args';
import { UsageError } from './cli-error';
import { readCaFile } from './ca-file';
import { configPath, loadConfig, resolveTarget, type FleetctlConfig, type ResolvedTarget } from './config';
import { openSession, type HubSession } from './hub-session';

// What every command gets: its parsed line, the environment, where to write,
// and the shared steps (config, connecting to the hub).

export const GLOBAL_FLAGS = ['hub', 'token', 'ca', 'context', 'json', 'help'] as const;

export interface CommandContext {
  args: ParsedArgs;
  /** positionals after the command words */
  operands: string[];
  env: NodeJS.ProcessEnv;
  json: boolean;
  useColor: boolean;
  out(text: string): void;
  /** notes for people (progress, summaries) that must not pollute stdout */
  note(text: string): void;
}

export function readConfig(ctx: CommandContext): { path: string; config: FleetctlConfig } {
  const path = configPath(ctx.env);
  return { path, config: loadConfig(path) };
}

export function target(ctx: CommandContext): ResolvedTarget {
  const { config } = readConfig(ctx);
  const flags = {
    hub: ctx.args.strings.get('hub'),
    token: ctx.args.strings.get('token'),
    caFile: ctx.args.strings.get('ca'),
    context: ctx.args.strings.get('context'),
  };
  return resolveTarget({ flags, env: ctx.env, config, readCa: readCaFile });
}

/**
 * Connects with flags > env > saved context, runs `work`, and always closes
 * the client so the process can exit.
 */
export async function withSession<T>(ctx: CommandContext, work: (session: HubSession) => Promise<T>): Promise<T> {
  const session = await openSession(target(ctx));
  try {
    return await work(session);
  } finally {
    session.close();
  }
}

export function noOperands(ctx: CommandContext): void {
  if (ctx.operands.length) throw new UsageError(`unexpected argument "${ctx.operands[0]}": see fleetctl --help`);
}

export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.out(`${JSON.stringify(value, null, 2)}\n`);
}
