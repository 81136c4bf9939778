import type { ApiTransport, ConsoleApiMethod, ConsoleEvent } from '../src-main/common/console-api';

// The browser side of the WebSocket bridge (src-main/bridge): carries calls as
// {id, method, args} and receives {id, result} / {id, error} / {event}.
// Reconnects with backoff; calls made while the link is down wait for it a
// bounded time, and calls in flight when it drops fail (never hang).

export type BridgeLinkStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'open' }
  /** never opened after several tries: wrong or stale link, or the service stopped */
  | { state: 'unreachable'; attempt: number };

export interface BridgeTransportOptions {
  url: string;
  secret: string;
  onLink: (status: BridgeLinkStatus) => void;
}

const PROTOCOL = 'fleet.v1';
const SECRET_PREFIX = 'fleet.secret.';
const QUEUE_WAIT_MS = 10_000;
const MAX_BACKOFF_MS = 5_000;
const TRIES_BEFORE_UNREACHABLE = 3;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export function createBridgeTransport(opts: BridgeTransportOptions): ApiTransport {
  const listeners = new Set<(e: ConsoleEvent) => void>();
  const pending = new Map<number, Pending>();
  const queued: { text: string; timer: ReturnType<typeof setTimeout> }[] = [];
  let socket: WebSocket | null = null;
  let nextId = 1;
  let attempt = 0;
  let everOpened = false;

  const emit = (event: ConsoleEvent) => listeners.forEach((l) => l(event));

  function dial(): void {
    attempt++;
    const ws = new WebSocket(opts.url, [PROTOCOL, SECRET_PREFIX + opts.secret]);
    ws.onopen = () => {
      socket = ws;
      attempt = 0;
      opts.onLink({ state: 'open' });
      for (const q of queued.splice(0)) {
        clearTimeout(q.timer);
        ws.send(q.text);
      }
      // What happened while we were away is unknown: everything on screen is re-read.
      if (everOpened) emit({ type: 'devices-changed', revision: 0, ids: [] });
      everOpened = true;
    };
    ws.onmessage = (m) => onMessage(String(m.data));
    ws.onclose = () => {
      socket = null;
      for (const p of pending.values()) p.reject(new Error('the connection to the console service was lost; reconnecting'));
      pending.clear();
      const unreachable = !everOpened && attempt >= TRIES_BEFORE_UNREACHABLE;
      opts.onLink(unreachable ? { state: 'unreachable', attempt } : { state: 'connecting', attempt });
      setTimeout(dial, Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 5)));
    };
  }

  function onMessage(text: string): void {
    let msg: { id?: number | null; result?: unknown; error?: string; event?: ConsoleEvent };
    try {
      msg = JSON.parse(text);
    } catch {
      return; // the bridge only sends JSON; anything else is ignored
    }
    if (msg.event) return emit(msg.event);
    if (typeof msg.id !== 'number') return;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.result);
  }

  opts.onLink({ state: 'connecting', attempt: 0 });
  dial();

  return {
    invoke(method: ConsoleApiMethod, args: unknown[]) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        const text = JSON.stringify({ id, method, args });
        pending.set(id, { resolve, reject });
        if (socket) return socket.send(text);
        const entry = {
          text,
          timer: setTimeout(() => {
            queued.splice(queued.indexOf(entry), 1);
            pending.delete(id);
            reject(new Error(`the console service did not answer within ${QUEUE_WAIT_MS / 1000} s (${method})`));
          }, QUEUE_WAIT_MS),
        };
        queued.push(entry);
      });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
