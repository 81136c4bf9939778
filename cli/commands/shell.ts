import { allowFlags } from '../args';
import { UsageError } from '../cli-error';
import { GLOBAL_FLAGS, type CommandContext } from '../command-context';
import { connectLink, openExplained } from '../remote/hub-link';
import { exitStatus, pumpShell } from '../remote/shell-io';

// `fleetctl shell DEVICE` (an interactive shell: the local terminal in raw
// mode, its size followed) and `fleetctl shell DEVICE -- COMMAND...` (runs
// the command without a terminal, stdin/stdout/stderr piped byte for byte,
// and exits with its status). Both go through the hub, audited; interactive
// sessions are recorded.

/** Terminal output needs no throughput window; a smaller one bounds what the hub may hold per shell. */
const SHELL_WINDOW_BYTES = 256 * 1024;

export async function shell(ctx: CommandContext): Promise<number> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  const [device, ...words] = ctx.operands;
  if (!device) throw new UsageError('needs a DEVICE id: fleetctl shell DEVICE [-- COMMAND...]');
  // Like ssh, the words of the command are joined with spaces and run by the device's shell.
  const command = words.length ? words.join(' ') : undefined;
  const stdin = process.stdin;
  const tty = !command && stdin.isTTY && process.stdout.isTTY;
  const link = await connectLink(ctx);
  try {
    const channel = await openExplained(link, device, {
      kind: { $case: 'shell', shell: { operator: '', command, ...(tty ? { cols: process.stdout.columns, rows: process.stdout.rows } : {}) } },
    }, { windowBytes: SHELL_WINDOW_BYTES });
    let interrupted: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals): void => {
      interrupted = signal;
      channel.close(`interrupted by the operator (${signal})`);
    };
    const onResize = (): void => channel.send({ $case: 'resize', resize: { cols: process.stdout.columns, rows: process.stdout.rows } });
    if (tty) {
      ctx.note(`fleetctl: connected to ${device} (session ${channel.sessionId}${channel.recorded ? ', recorded by the hub' : ''}); end it with exit\n`);
      stdin.setRawMode(true);
      process.stdout.on('resize', onResize);
    } else {
      // Without a terminal Ctrl-C ends fleetctl; the command on the device ends with the channel.
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    try {
      return await pumpShell(channel, { stdin, stdout: process.stdout, stderr: process.stderr });
    } catch (err) {
      // Ended by Ctrl-C or a TERM before the command's status came: exit as a shell would.
      if (interrupted) return exitStatus({ code: 0, signal: interrupted });
      throw err;
    } finally {
      if (tty) {
        stdin.setRawMode(false);
        process.stdout.off('resize', onResize);
        ctx.note(`\r\nfleetctl: connection to ${device} closed\n`);
      }
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  } finally {
    // stdin may still be waiting for input that will never be sent: let the process exit.
    stdin.destroy();
    link.close();
  }
}
