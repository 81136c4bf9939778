import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConsoleApi, ConsoleEvent } from '../common/console-api';
import { dispatchApiCall } from '../common/api-dispatch';
import { serveStatic } from './static-files';

// The WebSocket bridge: serves the built renderer to a browser and carries
// the same ConsoleApi as Electron's preload, over one WebSocket at /api.
// Only the page that holds the per-run secret (printed once, in the URL
// fragment so it never reaches a server log) and that is served from this
// very origin may drive it: other local users lack the secret, other web
// pages fail the Origin check.

export interface BridgeOptions {
  api: ConsoleApi;
  subscribe: (listener: (e: ConsoleEvent) => void) => () => void;
  /** folder with the built renderer (index.html + assets) */
  staticDir: string;
  /** 127.0.0.1 unless told otherwise; the bridge is meant for this machine only */
  host?: string;
  /** 0 = any free port */
  port?: number;
  /** a client that stops reading (its socket buffer grows past this) is dropped; default 8 MiB */
  maxBufferedBytes?: number;
}

export interface Bridge {
  /** http://HOST:PORT/#secret=... — what the operator opens */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The WebSocket subprotocol the client names; the secret travels as a second one. */
export const BRIDGE_PROTOCOL = 'fleet.v1';
export const SECRET_PROTOCOL_PREFIX = 'fleet.secret.';

const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_CALLS_IN_FLIGHT = 64;

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const host = opts.host ?? '127.0.0.1';
  const maxBuffered = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  const secret = randomBytes(32).toString('base64url');
  const secretDigest = digest(secret);
  const sockets = new Set<WebSocket>();
  let origin = '';
  let csp = '';

  const server = createServer((req, res) => {
    if (!hostAllowed(req)) return refuse(res, 421, 'wrong Host header: open the URL printed by the console');
    void serveStatic(opts.staticDir, req, res, securityHeaders(csp));
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has(BRIDGE_PROTOCOL) ? BRIDGE_PROTOCOL : false),
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/api') return refuseUpgrade(socket, 404, 'Not Found');
    if (!hostAllowed(req) || req.headers.origin !== origin) return refuseUpgrade(socket, 403, 'Forbidden');
    if (!secretMatches(offeredSecret(req), secretDigest)) return refuseUpgrade(socket, 401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => serveClient(ws));
  });

  function hostAllowed(req: IncomingMessage): boolean {
    // Defeats DNS rebinding: a foreign name pointing at 127.0.0.1 gets nothing.
    return req.headers.host === new URL(origin).host;
  }

  function serveClient(ws: WebSocket): void {
    sockets.add(ws);
    let inFlight = 0;
    const send = (message: unknown): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > maxBuffered) {
        ws.terminate(); // it is not reading; keeping its backlog would grow without bound
        return;
      }
      ws.send(JSON.stringify(message));
    };
    const unsubscribe = opts.subscribe((event) => send({ event }));
    ws.on('close', () => {
      unsubscribe();
      sockets.delete(ws);
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      const call = parseCall(isBinary ? null : data.toString());
      if ('error' in call) return send(call);
      if (inFlight >= MAX_CALLS_IN_FLIGHT) return send({ id: call.id, error: `too many calls in flight (limit ${MAX_CALLS_IN_FLIGHT}): wait for replies` });
      inFlight++;
      dispatchApiCall(opts.api, call.method, call.args)
        .then(
          (result) => send({ id: call.id, result: result ?? null }),
          (err: unknown) => send({ id: call.id, error: err instanceof Error ? err.message : String(err) }),
        )
        .finally(() => inFlight--);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  csp = contentSecurityPolicy(origin);

  return {
    url: `${origin}/#secret=${secret}`,
    port,
    close: async () => {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

interface Call {
  id: number | string;
  method: string;
  args: unknown;
}

function parseCall(text: string | null): Call | { id: null | number | string; error: string } {
  if (text === null) return { id: null, error: 'binary messages are not accepted: send JSON text {id, method, args}' };
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { id: null, error: 'malformed JSON: send {id, method, args}' };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { id: null, error: 'a call must be a JSON object {id, method, args}' };
  const { id, method, args } = msg as Record<string, unknown>;
  if (typeof id !== 'number' && typeof id !== 'string') return { id: null, error: 'a call needs an "id" (number or string)' };
  if (typeof method !== 'string') return { id, error: 'a call needs a "method" string' };
  return { id, method, args };
}

function offeredSecret(req: IncomingMessage): string {
  const header = req.headers['sec-websocket-protocol'] ?? '';
  for (const p of header.split(',')) {
    const value = p.trim();
    if (value.startsWith(SECRET_PROTOCOL_PREFIX)) return value.slice(SECRET_PROTOCOL_PREFIX.length);
  }
  return '';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares digests, so the time taken says nothing about the secret or its length. */
function secretMatches(offered: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(offered), expected) && offered.length > 0;
}

function contentSecurityPolicy(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function securityHeaders(csp: string): Record<string, string> {
  return {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(message);
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
