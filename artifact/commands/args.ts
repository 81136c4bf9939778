// A small argv parser for fleet-artifact: --flag value, --flag=value,
// repeatable flags, boolean flags; anything unknown is a usage error.

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type FlagKind = 'string' | 'list' | 'boolean';

export interface ParsedArgs {
  positional: string[];
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  booleans: Set<string>;
}

export function parseArgs(argv: string[], flags: Record<string, FlagKind>, aliases: Record<string, string> = {}): ParsedArgs {
  const out: ParsedArgs = { positional: [], strings: new Map(), lists: new Map(), booleans: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const raw = eq === -1 ? arg : arg.slice(0, eq);
    const name = aliases[raw] ?? raw.replace(/^--?/, '');
    const kind = flags[name];
    if (!kind) throw new UsageError(`unknown option ${raw}`);
    if (kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`${raw} takes no value`);
      out.booleans.add(name);
      continue;
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`${raw} needs a value`);
      value = argv[++i];
    }
    if (kind === 'string') {
      if (out.strings.has(name)) throw new UsageError(`${raw} given twice`);
      out.strings.set(name, value);
    } else out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
  }
  return out;
}

/** key=value pairs of a repeatable flag. */
export function keyValues(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} wants key=value, got ${JSON.stringify(v)}`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export function required(args: ParsedArgs, name: string): string {
  const v = args.strings.get(name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}
