import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

// Serves the built renderer. Only regular files that really live inside
// staticDir (after resolving `..`, encoded separators and symlinks) are served.

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export async function serveStatic(staticDir: string, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void> {
  const reply = (status: number, message: string): void => {
    res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(message);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'only GET and HEAD are served');
  const file = await resolveInside(staticDir, req.url ?? '/');
  if (!file) return reply(404, 'not found');
  const type = contentTypes[extname(file)] ?? 'application/octet-stream';
  res.writeHead(200, {
    ...headers,
    'Content-Type': type,
    // index.html names hashed assets, so it must never be cached; assets may be.
    'Cache-Control': type.startsWith('text/html') ? 'no-store' : 'max-age=3600',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

/** The real path of the requested file when it is a regular file inside root; null otherwise. */
export async function resolveInside(root: string, url: string): Promise<string | null> {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url, 'http://x').pathname);
  } catch {
    return null; // malformed percent-encoding
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  if (path.endsWith('/')) path += 'index.html';
  try {
    const realRoot = await realpath(root);
    const candidate = resolve(realRoot, `.${path}`);
    if (!candidate.startsWith(realRoot + sep)) return null;
    const real = await realpath(candidate);
    if (!real.startsWith(realRoot + sep)) return null;
    return (await stat(real)).isFile() ? real : null;
  } catch {
    return null;
  }
}
