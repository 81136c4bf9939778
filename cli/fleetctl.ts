import { parseArgs, type FlagSpec } from './args';
import { CliError, EXIT, UsageError } from './cli-error';
import type { CommandContext } from './command-context';
import { artifactsList, artifactsUpload } from './commands/artifacts';
import { contexts } from './commands/contexts';
import { cp } from './commands/cp';
import { deploymentsAbort, deploymentsContinue, deploymentsCreate, deploymentsList, deploymentsLog, deploymentsPause, deploymentsResume, deploymentsShow } from './commands/deployments';
import { devicesAdmit, devicesHistory, devicesList, devicesPreauthorize, devicesShow } from './commands/devices';
import { groupsChange, groupsCreate, groupsDelete, groupsList, groupsShow, groupsWindow } from './commands/groups';
import { login, logout, whoami } from './commands/login';
import { mkdir } from './commands/mkdir';
import { portForward } from './commands/port-forward';
import { shell } from './commands/shell';
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
  fleetctl deployments create --artifact NAME_OR_ID (--devices ID,... | --group G | --dynamic-group G)
                              [--name N] [--allow-downgrade] [--force]   (prints the id)
                              [--phase 10% --phase 50% --phase 100%] [--phase-start auto|manual|TIME ...]
                              [--phase-success P% ...] [--phase-max-failures 5%|N|none ...]
                              [--pause-before install|reboot|commit ...] [--max-failures 5%|N]
                              [--window "0 2 * * *" --window-length 2h [--tz Europe/Oslo]]
                              [--retries N] [--max-devices N]
  fleetctl deployments list [--status active|halted|finished|aborted]
  fleetctl deployments show ID [--watch]   (phases, pauses, window, halt reason, history)
  fleetctl deployments continue ID [--phase N | --devices ID,...] [--stage install|reboot|commit]
  fleetctl deployments pause ID [--reason TEXT]
  fleetctl deployments resume ID
  fleetctl deployments abort ID
  fleetctl deployments log ID DEVICE_ID
  fleetctl groups add|remove GROUP DEVICE_ID...                    (static groups)
  fleetctl groups create NAME --where COND ... [--replace] [--dry-run]   (dynamic groups)
  fleetctl groups list
  fleetctl groups show NAME
  fleetctl groups delete NAME                                      (dynamic groups)
  fleetctl groups window NAME (--window CRON --window-length D [--tz ZONE] | --clear)
  fleetctl shell DEVICE                          (interactive shell through the hub, recorded)
  fleetctl shell DEVICE -- COMMAND...            (runs COMMAND, stdin/stdout/stderr piped; exits with its status)
  fleetctl cp [-r [-T]] SRC DST [--progress] [--retries N]   (DEVICE:PATH on one side; sha256 checked; a cut copy resumes)
  fleetctl mkdir DEVICE:PATH [--mode 755]        (an empty folder on the device, parents too, like mkdir -p)
  fleetctl port-forward DEVICE [LOCAL:]REMOTE    (127.0.0.1:LOCAL -> REMOTE on the device; Ctrl-C stops)

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
  --watch           follow the deployment until it is finished, aborted or halted:
                    bars per phase and per device on a terminal, one line per
                    change otherwise; exit 0 only if it finished and every device
                    reached success or already-installed (a halt exits 1 with its reason).
                    A deployment to a dynamic group without --max-devices stays active:
                    its watch runs until interrupted.

Rollouts (deployments create; see docs/rollouts.md):
  --phase SIZE      repeatable, in order: CUMULATIVE targets, as in Mender and hawkBit.
                    "--phase 10% --phase 50% --phase 100%" deploys to 10% of the devices,
                    then up to 50%, then to everyone (the hub gets 10%, 40% and the rest).
                    Percents (10%) or device counts (20, cumulative too); the last must
                    be 100% (or "all"). Each device is in one phase, chosen reproducibly;
                    the hub rounds each phase's share on its own (at least 1 device).
  --phase-start S   once per --phase, in order: auto (phase 1 at creation, a later one
                    when the phase before reached its success threshold), manual
                    (deployments continue ID --phase N), or an ISO time (2026-12-01T02:00:00Z)
  --phase-success P%  once per --phase: success share that starts the next phase (default 100%)
  --phase-max-failures T  once per --phase: failures in the phase that halt the deployment
  --max-failures T  over the deployment: 5% (more than 5% failed) or 3 (more than 3 failed)
                    halts it: no new device starts until deployments resume ID
  --pause-before S  install, reboot or commit (repeatable): devices stop there, status
                    paused-before-S, until deployments continue ID
  --window CRON     maintenance window (5-field cron: minute hour day month weekday):
                    downloads any time; install and reboot only inside the window
  --window-length D how long each window lasts: 90m, 2h, 1h30m, 1d (1m to 7d)
  --tz ZONE         IANA time zone of the cron expression (default UTC)
  --retries N       offer the deployment again to a failed device up to N times
  --dynamic-group G target a dynamic group: devices matching now, and those that come to
                    match while the deployment is active (up to --max-devices; 0 = no cap)
  --stage S         (continue) release pauses up to S; default: each device's next pause.
                    Without --phase or --devices: every started phase, or else the
                    next waiting phase starts.

Dynamic groups (groups create --where, repeatable, all must hold):
  attr=value  attr!=value  attr<v  attr<=v  attr>v  attr>=v  attr~regex
  'attr in a,b'  'attr not in a,b'  'attr exists'  'attr not exists'
  attr is "id", an identity attribute, or an inventory attribute; < and > compare
  numbers, else dotted versions (1.10 > 1.9); != and "not in" match a missing attribute.
  --dry-run counts the matching devices without saving the group.

Remote sessions (shell, cp, mkdir, port-forward; need the operator or admin role):
  shell DEVICE      a raw terminal when stdin is one (its size followed); ends when the shell exits
  shell DEVICE -- COMMAND...   the words are joined with spaces and run by the device's shell;
                    fleetctl exits with the command's status (128+N when signal N killed it)
  cp [-r] SRC DST   scp-style: ./file DEVICE:/data/ or DEVICE:/var/log/app.log . (absolute device
                    paths); a folder destination keeps the file's name; progress (bytes, speed,
                    ETA) on a terminal or with --progress; a copy cut by the network resumes
                    when the same command runs again; a file is written under its name only once
                    its sha256 matched; Ctrl-C cancels and leaves no partial file on either side.
                    -r (--recursive) copies a folder file by file, modes kept: the device creates
                    the folders inside its allowed roots (empty ones too); run again, it skips the
                    files already there whole (same size, mode and sha256 on both sides).
                    Like cp -r, an existing DST folder gets SRC inside it under SRC's name;
                    -T (--no-target-directory) copies into DST itself even when it exists
                    A copy cut by the network (hub or device away) is tried again after 1, 2, 4,
                    8, 15 s, each try resuming where the last stopped; --retries N (default 5,
                    0: none) says how often. Refusals and Ctrl-C end it at once.
  mkdir DEVICE:PATH makes the folder and its missing parents inside the device's allowed roots;
                    --mode (octal, default 755 less the device's umask) is the new folder's; a
                    folder that exists already is fine and keeps its mode; silent on success
                    (--json: {device, path, mode, mtimeMs})
  port-forward DEVICE [LOCAL:]REMOTE   REMOTE = [HOST:]PORT (HOST defaults to 127.0.0.1 on the
                    device side; IPv6 in brackets); LOCAL 0 or omitted = any free port; prints
                    the bound address; one channel per connection; the device's allow list decides

Exit codes:
  0  ok (shell -- COMMAND: the command's own status)
  1  the operation failed (e.g. unknown device ids; known ones were still applied;
     an artifact the hub refused as truncated, tampered or badly signed; a watched
     deployment that halted, or where a device did not end in success or already-installed)
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
  phase: 'list',
  'phase-start': 'list',
  'phase-success': 'list',
  'phase-max-failures': 'list',
  'pause-before': 'list',
  window: 'string',
  'window-length': 'string',
  tz: 'string',
  'max-failures': 'string',
  retries: 'string',
  'max-devices': 'string',
  'dynamic-group': 'string',
  stage: 'string',
  reason: 'string',
  where: 'list',
  replace: 'boolean',
  clear: 'boolean',
  progress: 'boolean',
  recursive: 'boolean',
  'no-target-directory': 'boolean',
  mode: 'string',
};

/** A command may return the exit status itself (shell -- COMMAND exits with the command's). */
type Command = (ctx: CommandContext) => void | number | Promise<void | number>;

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
  'deployments continue': deploymentsContinue,
  'deployments pause': deploymentsPause,
  'deployments resume': deploymentsResume,
  'deployments abort': deploymentsAbort,
  'deployments log': deploymentsLog,
  'groups add': (ctx) => groupsChange(ctx, 'add'),
  'groups remove': (ctx) => groupsChange(ctx, 'remove'),
  'groups list': groupsList,
  'groups create': groupsCreate,
  'groups show': groupsShow,
  'groups delete': groupsDelete,
  'groups window': groupsWindow,
  shell,
  cp,
  mkdir,
  'port-forward': portForward,
};

/** Commands of two words, and what to say when the second is missing. */
const SUBCOMMANDS: Record<string, string> = {
  devices: 'list, show, accept, reject, preauthorize or history',
  artifacts: 'upload or list',
  deployments: 'create, list, show, continue, pause, resume, abort or log',
  groups: 'add, remove, create, list, show, delete or window',
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
    const code = await command({
      args,
      operands: args.positionals.slice(words),
      env: process.env,
      json: args.booleans.has('json'),
      useColor: colorWanted(process.stdout),
      out: (text) => process.stdout.write(text),
      note: (text) => process.stderr.write(text),
    });
    return typeof code === 'number' ? code : EXIT.ok;
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
