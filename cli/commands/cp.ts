import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { allowFlags } from '../args';
import { CliError, UsageError } from '../cli-error';
import { GLOBAL_FLAGS, printJson, type CommandContext } from '../command-context';
import { ChannelRefused, openChannel, type HubLink } from '../remote/channel-client';
import { planCopy } from '../remote/cp-operand';
import { downloadFile } from '../remote/file-download';
import { uploadFile, type TransferResult } from '../remote/file-upload';
import { DEFAULT_RETRIES, TransferCancelled } from '../remote/resume';
import { downloadFolder, uploadFolder } from '../remote/folder-copy';
import { connectLink } from '../remote/hub-link';
import { refusalError } from '../remote/refusal';
import { progressReporter } from '../remote/transfer-progress';

// `fleetctl cp [-r] SRC DST`, scp-style: DEVICE:PATH on one side. The sha256
// is checked end to end in both directions; an interrupted copy (a cut
// connection) resumes when the same command runs again; a file lands under
// its name only whole. Ctrl-C cancels: the device drops a partial upload,
// and a partial download is removed here too. -r copies a folder file by
// file (the device creates the folders an upload needs inside its roots);
// run again, it skips the files already there whole (same sha256).

/** Exit status after Ctrl-C / TERM, as a shell reports a process killed by the signal. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export async function cp(ctx: CommandContext): Promise<number | void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'progress', 'recursive', 'no-target-directory', 'retries']);
  if (ctx.operands.length !== 2) throw new UsageError('needs SRC and DST, one of them DEVICE:PATH: fleetctl cp ./file DEVICE:/data/ or fleetctl cp DEVICE:/var/log/app.log . (-r for folders)');
  const plan = planCopy(ctx.operands[0], ctx.operands[1]);
  const recursive = ctx.args.booleans.has('recursive');
  const asTarget = ctx.args.booleans.has('no-target-directory');
  const retriesFlag = ctx.args.strings.get('retries');
  const retries = retriesFlag === undefined ? DEFAULT_RETRIES : Number(retriesFlag);
  if (!Number.isInteger(retries) || retries < 0 || retries > 100) throw new UsageError(`--retries needs a whole number from 0 to 100, got "${retriesFlag}"`);
  if (asTarget && !recursive) throw new UsageError('-T (--no-target-directory) goes with -r: it copies a folder into DST itself');
  const showProgress = ctx.args.booleans.has('progress') || Boolean(process.stderr.isTTY);
  const tty = Boolean(process.stderr.isTTY);
  const link = await connectLink(ctx);
  const abort = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal;
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let reporter: ReturnType<typeof progressReporter> | undefined;
    let name = basename(plan.direction === 'upload' ? plan.local : plan.path);
    const onProgress = (done: number, total: number, offset: number): void => {
      if (!showProgress) return;
      reporter ??= progressReporter(ctx.note, tty, name, total, offset);
      reporter.update(done);
    };
    const report = (result: TransferResult): void => {
      reporter?.finish(result.size);
      reporter = undefined;
      if (ctx.json) return;
      const where = plan.direction === 'upload' ? `${plan.device}:${result.path}` : result.path;
      const how = result.unchanged ? '  (already there, not sent)' : result.resumedFrom ? `  (resumed at byte ${result.resumedFrom})` : '';
      ctx.note(`${where}  ${result.size} bytes  sha256 ${result.sha256}${how}\n`);
    };
    const onResume = (why: string, nextTry: number, tries: number, waitSeconds: number): void => {
      // The next try draws its own line, from where it resumes.
      if (reporter && tty) ctx.note('\n');
      reporter = undefined;
      // The cause without its "run the command again" advice: that is what happens next.
      const cause = why.split('\n')[0].replace(/(\[[a-z-]+\]):.*$/, '$1').replace(/: run the same command again to resume$/, '');
      ctx.note(`fleetctl: cp: ${cause}\nfleetctl: cp: resuming in ${waitSeconds} s (try ${nextTry} of ${tries}; Ctrl-C stops)\n`);
    };
    const options = { onProgress, signal: abort.signal, retries, onResume };
    if (recursive) {
      const folder = { ...options, onFile: (path: string) => (name = path), onDone: report, onSkip: (what: string) => ctx.note(`fleetctl: cp: skipped ${what}\n`) };
      let results: TransferResult[];
      // Like cp -r: into an existing folder under the source's name, else as the new folder (-T: always as DST).
      let into = false;
      try {
        if (plan.direction === 'upload') {
          if (!(await stat(plan.local).then((s) => s.isDirectory(), () => false))) throw new UsageError(`${plan.local} is not a folder (cp -r copies a folder; drop -r for a file)`);
          into = !asTarget && (plan.path.endsWith('/') || (await isRemoteFolder(link, plan.device, plan.path)));
          results = await uploadFolder(link, plan.device, plan.local, into ? `${trimSlash(plan.path)}/${basename(trimSlash(plan.local))}` : plan.path, folder);
        } else {
          into = !asTarget && (plan.local.endsWith('/') || (await stat(plan.local).then((s) => s.isDirectory(), () => false)));
          results = await downloadFolder(link, plan.device, plan.path, into ? join(plan.local, basename(trimSlash(plan.path))) : plan.local, folder);
        }
      } catch (err) {
        // This run made DST: the same command would now copy into it under SRC's name instead of going on.
        if (!into && !asTarget && err instanceof CliError && !(err instanceof UsageError)) {
          const made = plan.direction === 'upload' ? await isRemoteFolder(link, plan.device, plan.path).catch(() => false) : await stat(plan.local).then((s) => s.isDirectory(), () => false);
          if (made) err.message += `; to go on where this stopped, add -T (DST exists now): fleetctl cp -r -T ${shellWord(ctx.operands[0])} ${shellWord(ctx.operands[1])}`;
        }
        throw err;
      }
      if (ctx.json) return printJson(ctx, results);
      return;
    }
    let result: TransferResult;
    if (plan.direction === 'upload') {
      const path = plan.path.endsWith('/') || (await isRemoteFolder(link, plan.device, plan.path)) ? `${plan.path.replace(/\/+$/, '')}/${basename(plan.local)}` : plan.path;
      result = await uploadFile(link, plan.device, plan.local, path, options);
    } else {
      result = await downloadFile(link, plan.device, plan.path, plan.local, options);
    }
    report(result);
    if (ctx.json) return printJson(ctx, result);
  } catch (err) {
    if (interrupted && err instanceof TransferCancelled) {
      ctx.note(`fleetctl: cp: ${err.message}\n`);
      return SIGNAL_EXIT[interrupted];
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    link.close();
  }
}

const trimSlash = (path: string): string => path.replace(/(.)\/+$/, '$1');

/** A word as a POSIX shell reads it back (single-quoted unless plain). */
const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

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
