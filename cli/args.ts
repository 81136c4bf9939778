import { UsageError } from './cli-error';

// A tiny flag parser: `--name value`, `--name=value`, boolean `--name`,
// repeatable list flags, `--` ends flags. Flags may appear anywhere on the
// line, so the whole line is parsed against one table of every flag fleetctl
// knows; each command then says which of them it accepts (see `allowFlags`).

export type FlagKind = 'boolean' | 'string' | 'list';
export type FlagSpec = Readonly<Record<string, FlagKind>>;

export interface ParsedArgs {
  positionals: string[];
  booleans: Set<string>;
  strings: Map<string, string>;
  lists: Map<string, string[]>;
}

const SHORT: Readonly<Record<string, string>> = { '-h': 'help', '-r': 'recursive', '-T': 'no-target-directory' };

export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedArgs {
  const out: ParsedArgs = { positionals: [], booleans: new Set(), strings: new Map(), lists: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = SHORT[arg] ?? (arg.startsWith('--') ? arg.slice(2, eq === -1 ? undefined : eq) : '');
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown flag ${eq === -1 ? arg : arg.slice(0, eq)}: see fleetctl --help`);
    if (kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      out.booleans.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'string') {
      if (out.strings.has(name)) throw new UsageError(`--${name} given more than once`);
      out.strings.set(name, value);
    } else {
      out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
    }
  }
  return out;
}

/** Fails with a usage error when a flag outside `allowed` was given. */
export function allowFlags(args: ParsedArgs, allowed: readonly string[]): void {
  const given = [...args.booleans, ...args.strings.keys(), ...args.lists.keys()];
  const extra = given.filter((name) => !allowed.includes(name));
  if (extra.length) throw new UsageError(`${extra.map((n) => `--${n}`).join(', ')} ${extra.length === 1 ? 'is' : 'are'} not accepted here: see fleetctl --help`);
}

/** `k=v` pairs (from --filter, --identity) as a map; later keys win. */
export function keyValues(flag: string, pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} must be KEY=VALUE, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function positiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--${flag} must be a positive whole number, got "${text}"`);
  return Number(text);
}
