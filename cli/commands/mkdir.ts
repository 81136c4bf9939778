import { allowFlags } from '../args';
import { UsageError } from '../cli-error';
import { GLOBAL_FLAGS, printJson, type CommandContext } from '../command-context';
import { parseCpOperand } from '../remote/cp-operand';
import { connectLink } from '../remote/hub-link';
import { makeRemoteFolder } from '../remote/remote-mkdir';

// `fleetctl mkdir DEVICE:PATH [--mode 755]`: an empty folder on the device,
// and its missing parents, like mkdir -p (a folder that exists is fine and
// keeps its mode). The device decides where (inside remote.files.roots) and
// answers with the folder's facts. Silent on success, like mkdir(1).

export async function mkdir(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'mode']);
  if (ctx.operands.length !== 1) throw new UsageError('needs one DEVICE:PATH: fleetctl mkdir DEVICE:/data/new-folder [--mode 755]');
  const operand = parseCpOperand(ctx.operands[0]);
  if (!('device' in operand)) throw new UsageError(`"${ctx.operands[0]}" names no device: write DEVICE:PATH (e.g. dev-1:/data/new-folder)`);
  const { device } = operand;
  const path = operand.path.replace(/(.)\/+$/, '$1');
  if (!path.startsWith('/')) throw new UsageError(`${device}:${operand.path}: the device path must be absolute (e.g. ${device}:/data/new-folder)`);
  if (path === '/') throw new UsageError(`${device}:/: name the folder to make`);
  const modeText = ctx.args.strings.get('mode');
  const mode = modeText === undefined ? undefined : parseMode(modeText);

  const link = await connectLink(ctx);
  try {
    const made = await makeRemoteFolder(link, device, path, mode);
    if (ctx.json) printJson(ctx, { device, path, mode: made.mode.toString(8).padStart(4, '0'), mtimeMs: made.mtimeMs });
  } finally {
    link.close();
  }
}

/** chmod-style octal permission bits: 755, 0755 or 0o755 (never suid/sgid/sticky). */
export function parseMode(text: string): number {
  const m = /^(?:0o?)?([0-7]{1,3})$/.exec(text.trim());
  if (!m) throw new UsageError(`--mode ${JSON.stringify(text)}: give octal permission bits such as 755 or 0750`);
  return parseInt(m[1], 8);
}
