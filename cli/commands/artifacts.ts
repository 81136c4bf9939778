import type { ServiceError } from '@grpc/grpc-js';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { UploadArtifactResponse } from '../../proto/gen/fleet/v1/console';
import { bearer, createConsoleClient, HubCallError } from '../../src-main/services/hub-client/hub-connection';
import { allowFlags } from '../args';
import { UsageError } from '../cli-error';
import { GLOBAL_FLAGS, noOperands, printJson, target, withSession, type CommandContext } from '../command-context';
import { humanBytes, relativeTime, table, type Color } from '../format';
import { checkFingerprint, hubError, probe } from '../hub-session';

// `fleetctl artifacts upload FILE | list`. Upload streams the file in chunks
// under the hub's message limit; the hub verifies it before storing it.

/** Each message stays well under the hub's 1 MiB receive limit. */
const CHUNK_BYTES = 256 * 1024;
/** A slow link still finishes: a minute plus 256 KiB/s; a dead one fails. */
const deadlineFor = (size: number): number => Date.now() + 60_000 + Math.ceil(size / CHUNK_BYTES) * 1000;

export async function artifactsUpload(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  if (ctx.operands.length !== 1) throw new UsageError('needs exactly one artifact FILE (made with fleet-artifact write)');
  const file = ctx.operands[0];
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const res = await upload(ctx, file, size);
  const a = res.artifact!;
  if (ctx.json) return printJson(ctx, { ...a, deduplicated: res.deduplicated });
  ctx.out(`${a.id}  ${a.name} ${a.version}  signature: ${a.signatureStatus}${res.deduplicated ? '  (already on the hub)' : ''}\n`);
}

export async function artifactsList(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  noOperands(ctx);
  const { artifacts } = await withSession(ctx, (s) => s.call((c) => c.listArtifacts, {}));
  if (ctx.json) return printJson(ctx, artifacts);
  if (!artifacts.length) return ctx.note('No artifacts on the hub: upload one with fleetctl artifacts upload FILE\n');
  const rows = artifacts.map((a) => [a.name, a.version, a.deviceTypes.join(','), a.signatureStatus, humanBytes(a.size), relativeTime(a.uploadedMs), a.id.slice(0, 12)]);
  const colors: Record<string, Color> = { trusted: 'green', 'untrusted-key': 'yellow', unsigned: 'red' };
  ctx.out(table(['NAME', 'VERSION', 'TYPES', 'SIGNATURE', 'SIZE', 'UPLOADED', 'ID'], rows, { useColor: ctx.useColor, color: (col, v) => (col === 3 ? colors[v] : undefined) }));
}

async function upload(ctx: CommandContext, file: string, size: number): Promise<UploadArtifactResponse> {
  const t = target(ctx);
  const seen = await probe(t.hub);
  checkFingerprint(seen.fingerprint, t.fingerprint, t.trustSource);
  const client = createConsoleClient(t);
  const progress = process.stderr.isTTY ? progressLine(basename(file), size) : undefined;
  try {
    return await new Promise<UploadArtifactResponse>((resolve, reject) => {
      let finished = false;
      const call = client.uploadArtifact(bearer(t.token), { deadline: deadlineFor(size) }, (err: ServiceError | null, res?: UploadArtifactResponse) => {
        finished = true;
        if (err) reject(hubError(new HubCallError(err), t.hub));
        else resolve(res!);
      });
      (async () => {
        call.write({ part: { $case: 'header', header: { size, fileName: basename(file) } } });
        let sent = 0;
        for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) {
          if (finished) return;
          sent += (chunk as Buffer).length;
          if (!call.write({ part: { $case: 'chunk', chunk: chunk as Buffer } })) await new Promise((r) => call.once('drain', r));
          progress?.(sent);
        }
        call.end();
      })().catch((err: Error) => {
        call.cancel();
        reject(new UsageError(`cannot read ${file}: ${err.message}`));
      });
    });
  } finally {
    progress?.(-1);
    client.close();
  }
}

/** "\rtest.fleet  42%  12.3 MB/s" on a terminal; -1 clears the line. */
function progressLine(name: string, size: number): (sent: number) => void {
  const start = Date.now();
  let last = 0;
  return (sent) => {
    if (sent < 0) return void process.stderr.write('\r\x1b[K');
    const now = Date.now();
    if (now - last < 100 && sent < size) return;
    last = now;
    const mbps = sent / 1e6 / Math.max((now - start) / 1000, 0.001);
    process.stderr.write(`\r\x1b[Kuploading ${name}  ${Math.floor((sent / size) * 100)}%  ${mbps.toFixed(1)} MB/s`);
  };
}
