import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareDataDir } from './data-dir';
import { parseDuration } from './duration';
import { startHub, type RunningHub } from './hub';
import { parseByteSize } from './remote/byte-size';
import { openSqliteStore } from './store/sqlite-store';
import type { OperatorRole } from './store/store';

// The `fleet-hub` program: runs a hub, or manages its operators offline.

const USAGE = `fleet-hub: the fleet hub server (gRPC over TLS, SQLite)

Usage:
  fleet-hub [--data DIR] [--listen HOST:PORT] [--token-ttl 1h] [--heartbeat 30s] [--recording-max 32MiB]
            [--recordings-keep 90d] [--recordings-max-total 2GiB]
  fleet-hub operators add NAME --role viewer|operator|admin [--data DIR]

Options:
  --data DIR           state folder: hub.key, hub.crt, admin.token, hub.db (default ./fleet-hub-data)
  --listen HOST:PORT   address to serve on (default 127.0.0.1:7443; port 0 = any free port)
  --token-ttl DURATION life of device tokens (default 1h)
  --heartbeat DURATION heartbeat interval told to devices (default 30s)
  --recording-max SIZE size cap of one shell session recording (default 32MiB);
                       a recording that reaches it stops and is marked truncated
  --recordings-keep DURATION
                       recordings of sessions that ended longer ago are deleted
                       (at start, then hourly; default 90d; 0 = no age limit)
  --recordings-max-total SIZE
                       past this total the oldest recordings are deleted
                       (default 2GiB; 0 = no size limit). Sessions stay listed.
  --role ROLE          role of a new operator: viewer (read only), operator, admin
  -h, --help           show this help

The first start creates the TLS certificate, the admin token and the database;
later starts on the same folder keep them. Stop with Ctrl-C (SIGINT) or SIGTERM.
"operators add" prints the new operator's token once; it is stored nowhere else.`;

const DEFAULT_DATA = './fleet-hub-data';
const DEFAULT_LISTEN = '127.0.0.1:7443';

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        listen: { type: 'string' },
        'token-ttl': { type: 'string' },
        heartbeat: { type: 'string' },
        'recording-max': { type: 'string' },
        'recordings-keep': { type: 'string' },
        'recordings-max-total': { type: 'string' },
        role: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dataDir = resolve(values.data ?? DEFAULT_DATA);

  if (positionals[0] === 'operators') return operatorsCommand(positionals.slice(1), dataDir, values.role);
  if (positionals.length) throw new UsageError(`unknown command "${positionals.join(' ')}"`);
  if (values.role) throw new UsageError('--role belongs to "fleet-hub operators add"');

  const hub = await startHub({
    dataDir,
    listen: values.listen ?? DEFAULT_LISTEN,
    tokenTtlMs: values['token-ttl'] ? parseDuration(values['token-ttl'], '--token-ttl') : undefined,
    heartbeatIntervalMs: values.heartbeat ? parseDuration(values.heartbeat, '--heartbeat') : undefined,
    recordingMaxBytes: values['recording-max'] ? parseByteSize(values['recording-max'], '--recording-max') : undefined,
    recordingMaxAgeMs: values['recordings-keep'] === '0' ? 0 : values['recordings-keep'] ? parseDuration(values['recordings-keep'], '--recordings-keep') : undefined,
    recordingMaxTotalBytes: values['recordings-max-total'] === '0' ? 0 : values['recordings-max-total'] ? parseByteSize(values['recordings-max-total'], '--recordings-max-total') : undefined,
    log: (line) => console.error(`fleet-hub: ${line}`),
  });
  printBanner(hub);
  await stopOnSignal(hub);
  return 0;
}

function printBanner(hub: RunningHub): void {
  console.log(`fleet-hub ${hub.hubId} listening on ${hub.address}
  certificate  ${hub.certPath}
  fingerprint  SHA256 ${hub.fingerprint}
  admin token  ${hub.adminTokenPath}`);
}

function stopOnSignal(hub: RunningHub): Promise<void> {
  return new Promise((done) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // A second signal while closing means "now".
      process.once(signal, () => process.exit(130));
      console.error(`fleet-hub: ${signal}: closing connections and flushing the database`);
      hub.close().then(done, (err) => {
        console.error(`fleet-hub: error while stopping: ${(err as Error).message}`);
        done();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function operatorsCommand(args: string[], dataDir: string, role: string | undefined): Promise<number> {
  if (args[0] !== 'add' || args.length !== 2) throw new UsageError('usage: fleet-hub operators add NAME --role viewer|operator|admin [--data DIR]');
  if (!role || !['viewer', 'operator', 'admin'].includes(role)) throw new UsageError('--role must be viewer, operator or admin');
  const paths = prepareDataDir(dataDir);
  // Safe beside a running hub: SQLite serializes the writers (WAL + busy timeout).
  const store = openSqliteStore(paths.db);
  try {
    const created = await store.createOperator(args[1], role as OperatorRole, 'hub');
    console.log(created.token);
    console.error(`fleet-hub: operator "${created.name}" (${created.role}) created on hub ${store.hubId}; the token above is shown only once`);
  } finally {
    await store.close();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`fleet-hub: ${err.message}`);
    if (err instanceof UsageError) console.error('Run "fleet-hub --help" for usage.');
    process.exit(1);
  },
);
