import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelPair } from '../channel-pair';
import { parseRemoteConfig, type FilesConfig } from '../remote-config';
import { TestOperator } from '../test-operator';
import { FileTransfers, type FileRequest } from './file-transfers';
import { RootPolicy } from './root-policy';
import { FileUpload } from './upload';

let tmp: string;
let root: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'file-transfers-'));
  root = join(tmp, 'root');
  mkdirSync(root);
  mkdirSync(join(tmp, 'outside'));
  writeFileSync(join(tmp, 'outside', 'secret'), 'secret');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const config = (over: Partial<FilesConfig> = {}): FilesConfig => ({ ...parseRemoteConfig({ files: { enabled: true, roots: [root] } }).files, ...over });

function start(ft: FileTransfers, request: FileRequest, opts: { keepGranting?: boolean; windowBytes?: number } = {}) {
  const pair = createChannelPair();
  const op = new TestOperator(pair.operator, opts);
  const served = ft.serve(request, pair.device);
  return { op, served };
}

async function upload(ft: FileTransfers, path: string, data: Buffer, opts: { cutAfter?: number; cutReason?: string; claimSha?: string; mode?: number; transferId?: string } = {}) {
  const { op, served } = start(ft, { op: 'upload', path, size: data.byteLength, mode: opts.mode, transferId: opts.transferId });
  await op.until(() => !!op.frameOf('file') || !!op.closedWith, 5000, 'upload accepted');
  const offset = op.frameOf('file')?.file.offset;
  if (offset !== undefined) {
    const end = opts.cutAfter ?? data.byteLength;
    op.write(data.subarray(offset, end));
    await op.drained();
    if (opts.cutAfter !== undefined) {
      // let the device write what it was sent, then cut the channel
      await new Promise((r) => setTimeout(r, 50));
      op.peer.close(opts.cutReason ?? 'network cut');
    } else op.send({ $case: 'eof', eof: { sha256: opts.claimSha ?? sha(data) } });
  }
  await served;
  await op.closed;
  return { op, offset };
}

async function waitUntil(ok: () => boolean, what: string): Promise<void> {
  for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() - t0 > 5000) throw new Error(`timed out waiting for ${what}`);
}

describe('FileTransfers', () => {
  it('lists a folder in pages', async () => {
    const dir = join(root, 'many');
    mkdirSync(dir);
    for (const n of ['e', 'a', 'c', 'b', 'd']) writeFileSync(join(dir, n), n.repeat(3));
    const ft = new FileTransfers(config());
    const names: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const { op } = start(ft, { op: 'list', path: dir, cursor, limit: 2 });
      await op.closed;
      const listing = op.frameOf('listing')!.listing;
      names.push(...listing.entries.map((e) => e.name));
      expect(listing.entries.every((e) => e.type === 'file' && e.size === 3)).toBe(true);
      cursor = listing.nextCursor;
      if (!cursor) break;
    }
    expect(names).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('downloads a file with its sha256, and resumes from an offset', async () => {
    const data = randomBytes(300_000);
    writeFileSync(join(root, 'dl.bin'), data, { mode: 0o640 });
    const ft = new FileTransfers(config());
    const whole = start(ft, { op: 'download', path: join(root, 'dl.bin') });
    await whole.served;
    expect(await whole.op.closed).toBe('done');
    expect(whole.op.frameOf('file')!.file).toMatchObject({ size: 300_000, mode: 0o640, offset: 0 });
    expect(whole.op.data().equals(data)).toBe(true);
    expect(whole.op.frameOf('eof')!.eof.sha256).toBe(sha(data));

    const rest = start(ft, { op: 'download', path: join(root, 'dl.bin'), offset: 123_456 });
    await rest.op.closed;
    expect(rest.op.data().equals(data.subarray(123_456))).toBe(true);
    expect(rest.op.frameOf('eof')!.eof.sha256).toBe(sha(data)); // of the whole file
  });

  it('answers a file\'s sha256 without sending it, and refuses what it would not let download, a FIFO even when allowed, and a folder', async () => {
    const data = randomBytes(300_000);
    writeFileSync(join(root, 'hashed.bin'), data, { mode: 0o600 });
    const ft = new FileTransfers(config());
    const { op, served } = start(ft, { op: 'sha256', path: join(root, 'hashed.bin') });
    await served;
    expect(await op.closed).toBe('done');
    expect(op.frameOf('file')!.file).toMatchObject({ size: 300_000, mode: 0o600, offset: 0 });
    expect(op.frameOf('eof')!.eof.sha256).toBe(sha(data));
    expect(op.received).toBe(0);

    execFileSync('mkfifo', [join(root, 'hash-fifo')]);
    const lenient = new FileTransfers(config({ allowNonRegular: true, maxFileBytes: 1000 }));
    for (const [ft2, path, code] of [
      [ft, join(tmp, 'outside', 'secret'), 'outside-roots'],
      [ft, join(root, 'nope'), 'not-found'],
      [ft, join(root, 'hash-fifo'), 'not-regular'],
      [lenient, join(root, 'hash-fifo'), 'not-regular'],
      [ft, root, 'not-regular'],
      [lenient, join(root, 'hashed.bin'), 'too-large'],
    ] as const) {
      const refused = start(ft2, { op: 'sha256', path });
      await refused.op.closed;
      expect(refused.op.frameOf('error')?.error.code, path).toBe(code);
      expect(refused.op.frameOf('eof'), path).toBeUndefined();
    }
  });

  it('stops hashing a big file when the operator goes away', async () => {
    // 2 GiB of holes: reading them is quick, hashing them takes seconds (~1.2 GB/s with SHA-NI).
    const big = join(root, 'sparse.bin');
    execFileSync('truncate', ['-s', '2G', big]);
    try {
      const ft = new FileTransfers(config({ maxFileBytes: 4 * 1024 ** 3 }));
      const { op, served } = start(ft, { op: 'sha256', path: big });
      await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      op.peer.close('cancelled');
      await served;
      expect(Date.now() - t0).toBeLessThan(500);
      expect(op.frameOf('eof')).toBeUndefined();
    } finally {
      rmSync(big);
    }
  });

  it('refuses downloads outside the roots, of FIFOs and over the size limit, with codes', async () => {
    writeFileSync(join(root, 'big.bin'), randomBytes(2000));
    const ft = new FileTransfers(config({ maxFileBytes: 1000 }));
    for (const [path, code] of [
      [join(tmp, 'outside', 'secret'), 'outside-roots'],
      [`${root}/../outside/secret`, 'outside-roots'],
      [join(root, 'big.bin'), 'too-large'],
      [join(root, 'nope'), 'not-found'],
    ]) {
      const { op } = start(ft, { op: 'download', path });
      await op.closed;
      expect(op.frameOf('error')?.error.code, path).toBe(code);
      expect(op.received).toBe(0);
    }
  });

  it('uploads to a temp name and renames into place with the sender\'s mode', async () => {
    const data = randomBytes(200_000);
    const ft = new FileTransfers(config());
    const { op } = await upload(ft, join(root, 'up.bin'), data, { mode: 0o751 });
    expect(op.closedWith).toBe('done');
    expect(op.frameOf('eof')!.eof.sha256).toBe(sha(data));
    expect(readFileSync(join(root, 'up.bin')).equals(data)).toBe(true);
    expect(statSync(join(root, 'up.bin')).mode & 0o777).toBe(0o751);
    expect(readdirSync(root).filter((n) => n.includes('fleet-upload'))).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)('applies the configured owner, group and mode', async () => {
    const ft = new FileTransfers(config({ uploadOwner: 'nobody', uploadGroup: '65534', uploadMode: 0o600 }));
    await upload(ft, join(root, 'owned.txt'), Buffer.from('hi'), { mode: 0o777 });
    const st = statSync(join(root, 'owned.txt'));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([65534, 65534, 0o600]);
  });

  it('writes a big upload past the page cache (direct I/O) and lands it whole', async () => {
    const files = config();
    const size = 40 * 1024 * 1024 + 12345; // not a whole number of blocks
    const path = join(root, 'big-upload.bin');
    const upload = await FileUpload.begin(new RootPolicy(files), files, { path, size, transferId: 'wb' });
    expect(upload.writesDirect).toBe(true);
    const data = randomBytes(size);
    for (let at = 0; at < size; at += 256 * 1024) await upload.write(data.subarray(at, Math.min(size, at + 256 * 1024)));
    const done = await upload.finish(sha(data));
    expect(done.size).toBe(size);
    expect(readFileSync(path).equals(data)).toBe(true);
    rmSync(path);
  });

  it('refuses an over-size upload before writing a byte', async () => {
    const ft = new FileTransfers(config({ maxFileBytes: 1000 }));
    const before = readdirSync(root).sort();
    const { op, offset } = await upload(ft, join(root, 'huge.bin'), randomBytes(1001));
    expect(offset).toBeUndefined();
    expect(op.frameOf('error')?.error).toMatchObject({ code: 'too-large', message: expect.stringContaining('1001 bytes is over') });
    expect(op.frameOf('window')).toBeUndefined(); // no credit was ever granted
    expect(readdirSync(root).sort()).toEqual(before);
  });

  it('keeps an interrupted upload out of the real name and resumes it', async () => {
    const data = randomBytes(700_000);
    const path = join(root, 'resumed.bin');
    const ft = new FileTransfers(config());
    const cut = await upload(ft, path, data, { cutAfter: 400_000, transferId: 't1' });
    expect(cut.op.closedWith).toBe('network cut');
    expect(existsSync(path)).toBe(false);
    const temp = readdirSync(root).find((n) => n.startsWith('.resumed.bin.fleet-upload'));
    expect(temp).toBeDefined();
    expect(statSync(join(root, temp!)).size).toBe(400_000);

    const again = await upload(ft, path, data, { transferId: 't1' });
    expect(again.offset).toBe(400_000);
    expect(again.op.closedWith).toBe('done');
    expect(again.op.frameOf('eof')!.eof.sha256).toBe(sha(data));
    expect(readFileSync(path).equals(data)).toBe(true);
    expect(readdirSync(root).filter((n) => n.includes('fleet-upload'))).toEqual([]);
  });

  it('removes the temp file at once when the operator cancels (a cut keeps it)', async () => {
    const data = randomBytes(500_000);
    const path = join(root, 'cancelled.bin');
    const ft = new FileTransfers(config());
    const temps = (): string[] => readdirSync(root).filter((n) => n.startsWith('.cancelled.bin.fleet-upload'));
    await upload(ft, path, data, { cutAfter: 300_000, transferId: 'c1' });
    expect(temps()).toHaveLength(1); // a cut: kept for the resume
    const cancelled = await upload(ft, path, data, { cutAfter: 400_000, transferId: 'c1', cutReason: 'cancelled by the operator' });
    expect(cancelled.offset).toBe(300_000);
    expect(temps()).toEqual([]);
    expect(existsSync(path)).toBe(false);
    // Cancelled before a byte was sent: nothing either.
    const { op, served } = start(ft, { op: 'upload', path, size: 10, transferId: 'c2' });
    await op.until(() => !!op.frameOf('file'), 5000, 'upload accepted');
    op.peer.close('cancelled (Ctrl-C)');
    await served;
    expect(temps()).toEqual([]);
  });

  it('sweeps upload temp files untouched for a day at start, never one in use', async () => {
    const nested = join(root, 'sweep', 'deep');
    mkdirSync(nested, { recursive: true });
    const day = 24 * 3600;
    const old = [join(root, '.a.bin.fleet-upload-10-x1'), join(nested, '.b.fleet-upload-5')];
    const kept = [join(root, '.fresh.fleet-upload-10-x2'), join(nested, '.c.bin.fleet-upload-10-abc.txt'), join(nested, 'd.fleet-upload-10')];
    for (const p of [...old, ...kept]) writeFileSync(p, 'x');
    for (const p of [...old, kept[1], kept[2]]) utimesSync(p, Date.now() / 1000 - day - 60, Date.now() / 1000 - day - 60);
    new FileTransfers(config()); // the agent starting: its first sweep runs in the background
    await waitUntil(() => old.every((p) => !existsSync(p)), 'the old temp files swept');
    expect(kept.every((p) => existsSync(p))).toBe(true);

    // With a bound of 0 every idle temp file is stale, but not one being written.
    const eager = new FileTransfers(config(), { staleUploadMs: 0 });
    await eager.sweepStaleUploads();
    const data = randomBytes(300_000);
    const { op, served } = start(eager, { op: 'upload', path: join(root, 'sweep', 'live.bin'), size: data.byteLength, transferId: 'live' });
    await op.until(() => !!op.frameOf('file'), 5000, 'upload accepted');
    op.write(data.subarray(0, 100_000));
    await op.drained();
    await new Promise((r) => setTimeout(r, 50));
    const temp = join(root, 'sweep', `.live.bin.fleet-upload-${data.byteLength}-live`);
    expect(await eager.sweepStaleUploads()).not.toContain(temp);
    expect(existsSync(temp)).toBe(true);
    op.peer.close('network cut');
    await served;
    expect(await eager.sweepStaleUploads()).toContain(temp);
    expect(existsSync(temp)).toBe(false);
  });

  it('creates missing folders inside the root for an upload, and none through a link out', async () => {
    const data = randomBytes(10_000);
    const ft = new FileTransfers(config());
    const path = join(root, 'made', 'a', 'b', 'f.bin');
    const { op } = await upload(ft, path, data, { mode: 0o700 });
    expect(op.closedWith).toBe('done');
    expect(readFileSync(path).equals(data)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'made', 'a')).isDirectory()).toBe(true);

    symlinkSync(join(tmp, 'outside'), join(root, 'out-link'));
    const out = await upload(ft, join(root, 'out-link', 'new', 'f.bin'), data);
    expect(out.op.frameOf('error')?.error.code).toBe('outside-roots');
    expect(existsSync(join(tmp, 'outside', 'new'))).toBe(false);

    // Refused for size before a folder is made.
    const small = new FileTransfers(config({ maxFileBytes: 100 }));
    const big = await upload(small, join(root, 'never', 'f.bin'), data);
    expect(big.op.frameOf('error')?.error.code).toBe('too-large');
    expect(existsSync(join(root, 'never'))).toBe(false);

    // Two files of a dropped folder side by side, into the same new folders.
    const [x, y] = await Promise.all([upload(ft, join(root, 'pair', 'p', 'x'), data), upload(ft, join(root, 'pair', 'p', 'y'), data)]);
    expect([x.op.closedWith, y.op.closedWith]).toEqual(['done', 'done']);
  });

  it('makes an empty folder (and its missing parents) inside the roots, like mkdir -p, with the asked mode', async () => {
    const ft = new FileTransfers(config());
    const mkdir = async (path: string, mode?: number) => {
      const { op, served } = start(ft, { op: 'mkdir', path, mode });
      await served;
      await op.closed;
      return op;
    };
    const path = join(root, 'empty', 'nested', 'leaf');
    const made = await mkdir(path, 0o750);
    expect(made.closedWith).toBe('done');
    expect(made.frameOf('file')?.file).toMatchObject({ size: 0, mode: 0o750, offset: 0 });
    expect(statSync(path).isDirectory()).toBe(true);
    expect(readdirSync(path)).toEqual([]);
    expect(statSync(path).mode & 0o777).toBe(0o750);
    expect(statSync(join(root, 'empty')).isDirectory()).toBe(true);

    // Again: it exists, nothing changes (its mode included).
    const again = await mkdir(path, 0o700);
    expect(again.closedWith).toBe('done');
    expect(statSync(path).mode & 0o777).toBe(0o750);
    expect((await mkdir(root)).closedWith).toBe('done');
  });

  it('refuses a folder outside the roots, through a link out, over a file or a dangling link, and makes nothing', async () => {
    const ft = new FileTransfers(config());
    const refusal = async (path: string) => {
      const { op, served } = start(ft, { op: 'mkdir', path });
      await served;
      await op.closed;
      expect(op.frameOf('file')).toBeUndefined();
      return op.frameOf('error')?.error.code;
    };
    expect(await refusal(join(tmp, 'outside', 'new-folder'))).toBe('outside-roots');
    expect(existsSync(join(tmp, 'outside', 'new-folder'))).toBe(false);
    symlinkSync(join(tmp, 'outside'), join(root, 'mk-out-link'));
    expect(await refusal(join(root, 'mk-out-link', 'a', 'b'))).toBe('outside-roots');
    expect(existsSync(join(tmp, 'outside', 'a'))).toBe(false);
    expect(await refusal(join(root, 'mk-out-link'))).toBe('outside-roots');
    expect(await refusal(`${root}/x/../../outside/y`)).toBe('outside-roots');
    writeFileSync(join(root, 'mk-file'), 'x');
    expect(await refusal(join(root, 'mk-file'))).toBe('not-regular');
    expect(await refusal(join(root, 'mk-file', 'sub'))).toBe('not-regular');
    symlinkSync(join(root, 'nowhere'), join(root, 'mk-dangling'));
    expect(await refusal(join(root, 'mk-dangling'))).toBe('not-found');
    expect(existsSync(join(root, 'nowhere'))).toBe(false);
    expect(await new FileTransfers(config({ enabled: false })).policy.resolveInRoots(join(root, 'z'), 'new-folder').catch((e: { code: string }) => e.code)).toBe('disabled');
  });

  it('starts over when a resumed upload names another transfer, and handles 250-byte names', async () => {
    const data = randomBytes(100_000);
    const path = join(root, `${'n'.repeat(250)}`);
    const ft = new FileTransfers(config());
    await upload(ft, path, data, { cutAfter: 60_000, transferId: 'first' });
    const other = await upload(ft, path, data, { transferId: 'second' });
    expect(other.offset).toBe(0);
    expect(readFileSync(path).equals(data)).toBe(true);
    // the completed upload removed the abandoned attempt's temp file
    expect(readdirSync(root).filter((n) => n.includes('fleet-upload'))).toEqual([]);
  });

  it('refuses a sha256 mismatch and leaves nothing behind', async () => {
    const data = randomBytes(50_000);
    const path = join(root, 'bad.bin');
    writeFileSync(path, 'old content');
    const ft = new FileTransfers(config());
    const { op } = await upload(ft, path, data, { claimSha: sha(Buffer.from('something else')) });
    expect(op.frameOf('error')?.error.code).toBe('checksum-mismatch');
    expect(readFileSync(path, 'utf8')).toBe('old content');
    expect(readdirSync(root).filter((n) => n.includes('fleet-upload'))).toEqual([]);
  });

  it('refuses uploads outside the roots and onto FIFOs', async () => {
    const ft = new FileTransfers(config());
    const a = await upload(ft, join(tmp, 'outside', 'x'), Buffer.from('x'));
    expect(a.op.frameOf('error')?.error.code).toBe('outside-roots');
    expect(existsSync(join(tmp, 'outside', 'x'))).toBe(false);
    execFileSync('mkfifo', [join(root, 'pipe')]);
    const b = await upload(ft, join(root, 'pipe'), Buffer.from('x'));
    expect(b.op.frameOf('error')?.error.code).toBe('not-regular');
    expect(statSync(join(root, 'pipe')).isFIFO()).toBe(true);
  });

  it('limits bytes per minute (measured)', async () => {
    const perSecond = 128 * 1024;
    writeFileSync(join(root, 'slow.bin'), randomBytes(3 * perSecond));
    const ft = new FileTransfers(config({ bytesPerMinute: 60 * perSecond }));
    const t0 = Date.now();
    const { op } = start(ft, { op: 'download', path: join(root, 'slow.bin') });
    await op.closed;
    const seconds = (Date.now() - t0) / 1000;
    // One second's worth passes at once (the bucket), the other two at the rate.
    expect(op.received).toBe(3 * perSecond);
    expect(seconds).toBeGreaterThan(1.8);
    expect(seconds).toBeLessThan(5); // generous: CI machines are busy
    console.log(`rate limit: ${3 * perSecond} B at ${perSecond} B/s took ${seconds.toFixed(2)} s`);
  });

  it('sends no more than the granted window to a reader that stopped', async () => {
    writeFileSync(join(root, 'window.bin'), randomBytes(1_000_000));
    const ft = new FileTransfers(config());
    const { op } = start(ft, { op: 'download', path: join(root, 'window.bin') }, { keepGranting: false, windowBytes: 100_000 });
    await op.until(() => op.received >= 100_000, 5000, 'first window');
    await new Promise((r) => setTimeout(r, 300));
    expect(op.received).toBe(100_000);
    // a download takes only window frames from the operator
    op.send({ $case: 'data', data: Buffer.from('x') });
    await op.closed;
    expect(op.frameOf('error')?.error.code).toBe('protocol');
  });
});
