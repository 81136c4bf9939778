// fleet-artifact: make, sign, inspect and verify update artifacts.
// Exit codes: 0 ok, 1 failed check or error, 2 usage error.
import { ArtifactError } from './errors';
import { UsageError } from './commands/args';
import { inspect } from './commands/inspect';
import { keygen } from './commands/keygen';
import { sign } from './commands/sign';
import { verify } from './commands/verify';
import { write } from './commands/write';

const USAGE = `usage:
  fleet-artifact keygen --out K                      writes K.key (private, 0600) and K.pub
  fleet-artifact write rootfs-image IMAGE | app DIR | module NAME FILE...
        --name N --version V --device-type T [--device-type T2] [--group G]
        [--provides k=v] [--depends k=v] [--clears-provides PATTERN] [--hook State_Enter=SCRIPT]
        [--compression gzip|zstd|none] [--key K.key] -o FILE
  fleet-artifact sign --key K.key IN -o OUT          (re)signs: replaces manifest.sig
  fleet-artifact inspect [--json] [--key K.pub] FILE shows the header (not verified)
  fleet-artifact verify --key K.pub [--key ...] FILE checks signature and every payload
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { keygen, write, sign, inspect, verify };

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  return run(rest);
}

function report(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`fleet-artifact: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (err instanceof ArtifactError) {
    process.stderr.write(`fleet-artifact: ${err.message} (${err.code})\n`);
    return 1;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && e.syscall) {
    // File system errors are expected input problems: no stack.
    process.stderr.write(`fleet-artifact: ${e.path ?? ''}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}\n`);
    return 1;
  }
  if (err instanceof Error && err.constructor === Error) {
    // Plain Errors carry messages written for the user (an existing key file, zstd's complaint).
    process.stderr.write(`fleet-artifact: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(`fleet-artifact: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
  return 1;
}

process.stdout.on('error', () => {}); // a closed pipe (| head) is not a crash
process.exitCode = await main(process.argv.slice(2)).catch(report);
