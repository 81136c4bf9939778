import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import type { RemoteErrorInfo, RemoteTarget, RemoteTransferResult } from '../../common/console-api';

// Dragging a device's file out of the console onto the desktop. A drag can
// only carry data the page has at that very moment, and a browser drops a
// remote file by downloading a URL (Chromium's `DownloadURL` drag type, in
// Chrome and Electron alike), so the console serves one: GET on 127.0.0.1
// with this run's key, device and path in the query. The file is fetched
// from the device by the same verified download as a click (temp name,
// sha256 end to end) into a spool folder, and only then answered, whole,
// with its length — a download that fails or is cancelled answers an error
// instead, and the browser drops nothing. The renderer is told of the
// transfer (remote-transfer-start) and shows its progress in the queue.
//
// The key is this run's, random, and lives only in the page; it gives what
// the page can do anyway (download a permitted file as this operator),
// nothing more. The Host header must be our own address, so a web page
// cannot reach the server through a name it controls (DNS rebinding).

export interface DragOutDownload {
  transferId: string;
  /** the verified file in `localPath`, or the transfer's error */
  ended: Promise<RemoteTransferResult>;
}

export interface DragOutOptions {
  /** Starts a verified download to `localPath`; the caller announces it to the renderer. */
  download(target: RemoteTarget, remotePath: string, localPath: string): Promise<DragOutDownload>;
  cancel(transferId: string): Promise<void>;
  /** Where files wait between the device and the browser (emptied at start and after each). */
  spoolDir: string;
}

/** HTTP status for a refusal code (the body says the code and the message). */
const STATUS: Record<string, number> = { 'not-found': 404, 'outside-roots': 403, forbidden: 403, permission: 403, disabled: 403, 'not-regular': 409, 'too-large': 413, protocol: 400 };

export class DragOutLinks {
  private server: Server | undefined;
  private starting: Promise<string> | undefined;
  private readonly key = randomBytes(32).toString('base64url');
  private readonly running = new Set<string>();

  constructor(private readonly opts: DragOutOptions) {}

  /** `http://127.0.0.1:PORT/drag-out/KEY` — started on first use (once, however many windows ask at once). */
  base(): Promise<string> {
    this.starting ??= this.start();
    return this.starting;
  }

  private async start(): Promise<string> {
    await rm(this.opts.spoolDir, { recursive: true, force: true });
    await mkdir(this.opts.spoolDir, { recursive: true, mode: 0o700 });
    const server = createServer((req, res) => void this.serve(req, res).catch((err: Error) => answer(res, 500, `internal: ${err.message}`)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/drag-out/${this.key}`;
  }

  async close(): Promise<void> {
    await Promise.all([...this.running].map((id) => this.opts.cancel(id).catch(() => undefined)));
    const server = this.server;
    this.server = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // a file still being handed over is cut, not waited for
      await closed;
    }
    await rm(this.opts.spoolDir, { recursive: true, force: true });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const port = (this.server?.address() as AddressInfo | null)?.port;
    if (req.headers.host !== `127.0.0.1:${port}`) return answer(res, 421, 'wrong Host header');
    if (req.method !== 'GET') return answer(res, 405, 'only GET');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const [, prefix, key] = url.pathname.split('/');
    if (prefix !== 'drag-out' || !key || !sameKey(key, this.key)) return answer(res, 403, 'not a link of this console run');
    const deviceId = url.searchParams.get('device') ?? '';
    const via = url.searchParams.get('via');
    const remotePath = url.searchParams.get('path') ?? '';
    if (!deviceId || (via !== 'hub' && via !== 'direct') || !remotePath.startsWith('/')) return answer(res, 400, 'the link needs device, via (hub or direct) and an absolute path');
    const name = posix.basename(remotePath);
    if (!name || name === '..' || name === '.') return answer(res, 400, `${remotePath} names no file`);

    const spool = await mkdtemp(join(this.opts.spoolDir, 'f-'));
    let transferId = '';
    // The browser gave up (the drop was cancelled): so does the download.
    const gone = (): void => {
      if (transferId && !res.writableEnded) void this.opts.cancel(transferId).catch(() => undefined);
    };
    res.once('close', gone);
    try {
      const started = await this.opts.download({ deviceId, via }, remotePath, join(spool, name));
      transferId = started.transferId;
      this.running.add(transferId);
      if (res.destroyed) gone();
      const result = await started.ended.finally(() => this.running.delete(transferId));
      if (res.destroyed) return; // nobody to hand it to
      const size = (await stat(result.path)).size;
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': size,
        'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
        'X-Content-SHA256': result.sha256,
        'Cache-Control': 'no-store',
      });
      await new Promise<void>((resolve) => {
        const file = createReadStream(result.path);
        file.once('error', () => res.destroy());
        res.once('close', () => {
          file.destroy();
          resolve();
        });
        file.pipe(res);
      });
    } catch (err) {
      const info = errorInfo(err);
      answer(res, STATUS[info.code] ?? 502, `${info.code}: ${info.message}`);
    } finally {
      res.off('close', gone);
      await rm(spool, { recursive: true, force: true });
    }
  }
}

function answer(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${text}\n`);
}

function sameKey(given: string, key: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

function errorInfo(err: unknown): RemoteErrorInfo {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' && 'message' in err) return { code: err.code, message: String(err.message) };
  const text = err instanceof Error ? err.message : String(err);
  const m = /^([a-z-]+): (.*)$/s.exec(text);
  return m ? { code: m[1], message: m[2] } : { code: 'internal', message: text };
}
