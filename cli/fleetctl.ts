import { parseArgs, type FlagSpec } from './args';
import { CliError, EXIT, UsageError } from './cli-error';
import type { CommandContext } from './command-context';
import { artifactsList, artifactsUpload } from './commands/artifacts';
import { contexts } from './commands/contexts';
import { deploymentsAbort, deploymentsCreate, deploymentsList, deploymentsLog, deploymentsShow } from './commands/deployments';
import { devicesAdmit, devicesHistory, devicesList, devicesPreauthorize, devicesShow } from './commands/devices';
import { groupsChange, groupsList } from './commands/groups';
import { login, logout, whoami } from './commands/login';
import { colorWanted } from './format';

// fleetctl: the operator CLI for scripts and CI pipelines. This file parses
// the line, picks the command and turns every failure into one line on
// stderr and an exit code (see HELP).

const HELP = `fleetctl: operate a fleet hub from scripts and CI pipelines

Usage:
  fleetctl login --hub HOST:PORT --token T (--ca FILE | --fingerprint FP | --trust-on-first-use) [--context NAME]
  fleetctl logout [--context NAME]
  fleetctl contexts [use NAME]
  fleetctl whoami
  fleetctl devices list [--status pending|accepted|rejected] [--filter k=v ...] [--search TEXT] [--limit N]
  fleetctl devices show ID
  fleetctl devices accept ID...
  fleetctl devices reject ID...
  fleetctl devices accept --all-pending [--filter k=v ...] [--search TEXT] [--dry-run]
  fleetctl devices preauthorize --key PUBKEY --identity device_type=T [k=v ...]
  fleetctl devices history ID        (the device's deployments, newest first)
  fleetctl artifacts upload FILE     (the hub verifies it; progress on a terminal)
  fleetctl artifacts list
  fleetctl deployments create --artifact NAME_OR_ID (--devices ID,... | --group G)
                              [--name N] [--allow-downgrade] [--force]   (prints the id)
  fleetctl deployments list [--status active|finished|aborted]
  fleetctl deployments show ID [--watch]
  fleetctl deployments abort ID
  fleetctl deployments log ID DEVICE_ID
  fleetctl groups add|remove GROUP DEVICE_ID...
  fleetctl groups list

Global flags:
  --hub HOST:PORT   the hub to talk to                      (env FLEET_HUB)
  --token T         operator token                          (env FLEET_TOKEN)
  --ca FILE         the hub's certificate, DATA/hub.crt     (env FLEET_CA)
  --context NAME    use this saved context instead of the current one
  --json            machine-readable output on stdout
  -h, --help        this help

  Settings come from flags, then the environment, then the saved context.
  Contexts are saved by login in $FLEETCTL_CONFIG or ~/.config/fleetctl/config.json
  (mode 0600; it holds tokens).

  --filter k=v      exact match on an identity or inventory attribute (repeatable)
  --search TEXT     case-insensitive substring of the id or any attribute value
  --key PUBKEY      the device's ed25519 public key: 64 hex digits, base64 of
                    the 32 raw bytes, or a PEM public key file
  --artifact A      an artifact id (64 hex digits) or name (its newest upload)
  --group G         every member of static group G when the deployment is created
  --allow-downgrade install a lower version than the device runs
  --force           install even where the device already runs this name and version
  --watch           follow the deployment until it is finished or aborted: a bar
                    per device on a terminal, one line per status change otherwise;
                    exit 0 only if every device reached success or already-installed

Exit codes:
  0  ok
  1  the operation failed (e.g. unknown device ids; known ones were still applied;
     an artifact the hub refused as truncated, tampered or badly signed; a watched
     deployment where a device did not end in success or already-installed)
  2  usage error (bad flags or arguments, unreadable --ca file, bad config)
  3  hub unreachable, certificate not trusted, or token/role refused
`;

const FLAGS: FlagSpec = {
  hub: 'string',
  token: 'string',
  ca: 'string',
  context: 'string',
  json: 'boolean',
  help: 'boolean',
  fingerprint: 'string',
  'trust-on-first-use': 'boolean',
  status: 'string',
  filter: 'list',
  search: 'string',
  limit: 'string',
  'all-pending': 'boolean',
  'dry-run': 'boolean',
  key: 'string',
  identity: 'list',
  artifact: 'string',
  devices: 'list',
  group: 'string',
  name: 'string',
  'allow-downgrade': 'boolean',
  force: 'boolean',
  watch: 'boolean',
};

type Command = (ctx: CommandContext) => void | Promise<void>;

const COMMANDS: Record<string, Command> = {
  login,
  logout,
  whoami,
  contexts,
  'devices list': devicesList,
  'devices show': devicesShow,
  'devices accept': (ctx) => devicesAdmit(ctx, 'accept'),
  'devices reject': (ctx) => devicesAdmit(ctx, 'reject'),
  'devices preauthorize': devicesPreauthorize,
  'devices history': devicesHistory,
  'artifacts upload': artifactsUpload,
  'artifacts list': artifactsList,
  'deployments create': deploymentsCreate,
  'deployments list': deploymentsList,
  'deployments show': deploymentsShow,
  'deployments abort': deploymentsAbort,
  'deployments log': deploymentsLog,
  'groups add': (ctx) => groupsChange(ctx, 'add'),
  'groups remove': (ctx) => groupsChange(ctx, 'remove'),
  'groups list': groupsList,
};

/** Commands of two words, and what to say when the second is missing. */
const SUBCOMMANDS: Record<string, string> = {
  devices: 'list, show, accept, reject, preauthorize or history',
  artifacts: 'upload or list',
  deployments: 'create, list, show, abort or log',
  groups: 'add, remove or list',
};

async function main(argv: string[]): Promise<number> {
  let name = '';
  try {
    const args = parseArgs(argv, FLAGS);
    if (args.booleans.has('help')) {
      process.stdout.write(HELP);
      return EXIT.ok;
    }
    if (!args.positionals.length) {
      process.stderr.write(HELP);
      return EXIT.usage;
    }
    const words = SUBCOMMANDS[args.positionals[0]] ? 2 : 1;
    const wanted = args.positionals.slice(0, words).join(' ');
    const command = COMMANDS[wanted];
    if (!command) {
      if (SUBCOMMANDS[wanted]) throw new UsageError(`${wanted} needs a subcommand: ${SUBCOMMANDS[wanted]}`);
      throw new UsageError(`unknown command "${wanted}": see fleetctl --help`);
    }
    name = wanted;
    await command({
      args,
      operands: args.positionals.slice(words),
      env: process.env,
      json: args.booleans.has('json'),
      useColor: colorWanted(process.stdout),
      out: (text) => process.stdout.write(text),
      note: (text) => process.stderr.write(text),
    });
    return EXIT.ok;
  } catch (err) {
    const what = name ? `${name}: ` : '';
    if (err instanceof CliError) {
      process.stderr.write(`fleetctl: ${what}${err.message}\n`);
      return err.exitCode;
    }
    // Not an expected failure: a bug, so keep the stack for the report.
    process.stderr.write(`fleetctl: ${what}unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

// `fleetctl ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
