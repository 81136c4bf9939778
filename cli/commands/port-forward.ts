import { allowFlags } from '../args';
import { UsageError } from '../cli-error';
import { GLOBAL_FLAGS, type CommandContext } from '../command-context';
import { parseForwardSpec } from '../remote/forward-spec';
import { connectLink } from '../remote/hub-link';
import { startForward } from '../remote/tcp-forward';

// `fleetctl port-forward DEVICE [LOCAL:]REMOTE`: listens on 127.0.0.1 and
// carries each accepted connection to REMOTE on the device side through the
// hub, until Ctrl-C (exit 0) or the device goes away (exit 1).

export async function portForward(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  if (ctx.operands.length !== 2) throw new UsageError('needs DEVICE and [LOCAL:]REMOTE: fleetctl port-forward DEVICE 8080:80');
  const [device, specText] = ctx.operands;
  const spec = parseForwardSpec(specText);
  const link = await connectLink(ctx);
  try {
    const forwarder = await startForward(link, device, spec, (line) => ctx.note(`fleetctl: port-forward: ${line}\n`));
    const stop = (): void => void forwarder.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const remote = spec.host.includes(':') ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`;
    if (ctx.json) ctx.out(`${JSON.stringify({ local: `127.0.0.1:${forwarder.port}`, device, remote })}\n`);
    else ctx.out(`Forwarding from 127.0.0.1:${forwarder.port} -> ${device} ${remote}\n`);
    ctx.note('fleetctl: port-forward: Ctrl-C to stop\n');
    try {
      await forwarder.done;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  } finally {
    link.close();
  }
}
