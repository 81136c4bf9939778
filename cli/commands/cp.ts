import { basename } from 'node:path';
import { allowFlags } from '../args';
import { UsageError } from '../cli-error';
import { GLOBAL_FLAGS, printJson, type CommandContext } from '../command-context';
import { ChannelRefused, openChannel, type HubLink } from '../remote/channel-client';
import { planCopy } from '../remote/cp-operand';
import { downloadFile } from '../remote/file-download';
import { uploadFile, type TransferResult } from '../remote/file-upload';
import { connectLink } from '../remote/hub-link';
import { refusalError } from '../remote/refusal';
import { progressReporter } from '../remote/transfer-progress';

// `fleetctl cp SRC DST`, scp-style: DEVICE:PATH on one side. The sha256 is
// checked end to end in both directions; an interrupted upload resumes when
// the same command runs again; a download lands under its name only whole.

export async function cp(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'progress']);
  if (ctx.operands.length !== 2) throw new UsageError('needs SRC and DST, one of them DEVICE:PATH: fleetctl cp ./file DEVICE:/data/ or fleetctl cp DEVICE:/var/log/app.log .');
  const plan = planCopy(ctx.operands[0], ctx.operands[1]);
  const showProgress = ctx.args.booleans.has('progress') || Boolean(process.stderr.isTTY);
  const tty = Boolean(process.stderr.isTTY);
  const link = await connectLink(ctx);
  try {
    let reporter: ReturnType<typeof progressReporter> | undefined;
    const onProgress = (done: number, total: number, offset: number): void => {
      if (!showProgress) return;
      reporter ??= progressReporter(ctx.note, tty, basename(plan.direction === 'upload' ? plan.local : plan.path), total, offset);
      reporter.update(done);
    };
    let result: TransferResult;
    if (plan.direction === 'upload') {
      const path = plan.path.endsWith('/') || (await isRemoteFolder(link, plan.device, plan.path)) ? `${plan.path.replace(/\/+$/, '')}/${basename(plan.local)}` : plan.path;
      result = await uploadFile(link, plan.device, plan.local, path, onProgress);
    } else {
      result = await downloadFile(link, plan.device, plan.path, plan.local, onProgress);
    }
    reporter?.finish(result.size);
    if (ctx.json) return printJson(ctx, result);
    const where = plan.direction === 'upload' ? `${plan.device}:${result.path}` : result.path;
    ctx.note(`${where}  ${result.size} bytes  sha256 ${result.sha256}${result.resumedFrom ? `  (resumed at byte ${result.resumedFrom})` : ''}\n`);
  } finally {
    link.close();
  }
}

/** Is DEVICE:PATH an existing folder (then the file goes inside it, as with scp)? */
async function isRemoteFolder(link: HubLink, device: string, path: string): Promise<boolean> {
  try {
    const channel = await openChannel(link, device, { kind: { $case: 'file', file: { op: 'list', path, limit: 1 } } }, { grant: false });
    let listing = false;
    channel.onFrame((frame) => (listing ||= frame.$case === 'listing'));
    const end = await channel.ended;
    if (end.error && end.error.code !== 'not-found' && end.error.code !== 'not-regular') throw refusalError(end.error.code, end.error.message);
    return listing;
  } catch (err) {
    if (err instanceof ChannelRefused) {
      if (err.code === 'not-found' || err.code === 'not-regular') return false;
      throw refusalError(err.code, err.message);
    }
    throw err;
  }
}
