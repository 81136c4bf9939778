import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { WatchEvent, WatchRequest } from '../../proto/gen/fleet/v1/console';
import type { HubEvent, HubStore } from '../store/store';
import { toProtoDevice } from './device-proto';

export type WatchCall = ServerWritableStream<WatchRequest, WatchEvent>;

export interface WatchLimits {
  /** Devices read per backlog page. */
  pageSize: number;
  /** Live events a watcher may have queued before it is cut off. */
  maxLag: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = { pageSize: 500, maxLag: 20_000 };

// One Watch call: backlog (or RESYNC + full snapshot), SYNCED, then live.
//
// No gap, no duplicate: the watcher subscribes to committed events before it
// reads anything, reads device snapshots in revision order, and afterwards
// forwards only live events above the last revision its reads covered.
// Memory stays bounded: every write waits for grpc-js to drain, and a watcher
// whose live queue exceeds maxLag is ended with RESOURCE_EXHAUSTED so it
// reconnects and resyncs.
export async function serveWatch(store: HubStore, call: WatchCall, limits: WatchLimits = DEFAULT_WATCH_LIMITS): Promise<void> {
  const hubId = store.hubId;
  const queue: HubEvent[] = [];
  let live = false;
  let pumping = false;
  let closed = false;
  let lastSent = 0;
  let wake: (() => void) | undefined;

  const close = () => {
    closed = true;
    unsubscribe();
    wake?.();
  };
  const fail = (code: status, details: string) => {
    if (closed) return;
    close();
    call.emit('error', { code, details });
  };
  const unsubscribe = store.subscribe((events) => {
    for (const event of events) if (event.device) queue.push(event);
    if (queue.length > limits.maxLag) {
      queue.length = 0;
      fail(status.RESOURCE_EXHAUSTED, `watcher fell more than ${limits.maxLag} events behind: reconnect to resync`);
    } else if (live) void pump();
  });
  call.on('cancelled', close);
  call.on('close', close);
  call.on('error', close);

  /** Writes one message, waiting for grpc-js to drain its buffer when full. */
  const send = async (event: WatchEvent): Promise<void> => {
    if (closed) return;
    if (call.write(event)) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
      call.once('drain', resolve);
    });
    wake = undefined;
  };

  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    try {
      while (!closed && queue.length) {
        const event = queue.shift()!;
        if (event.revision <= lastSent) continue;
        lastSent = event.revision;
        await send({ revision: event.revision, event: { $case: 'device', device: toProtoDevice(event.device!) } });
      }
    } finally {
      pumping = false;
    }
  };

  const req = call.request;
  const head = await store.headRevision();
  const oldest = await store.oldestRevision();
  const resumable = req.hubId === hubId && req.sinceRevision >= oldest - 1 && req.sinceRevision <= head && req.sinceRevision >= 0;
  let cursor = resumable ? req.sinceRevision : 0;
  if (!resumable) await send({ revision: head, event: { $case: 'resync', resync: { hubId } } });

  for (;;) {
    if (closed) return;
    const page = await store.devicesChangedAfter(cursor, limits.pageSize);
    for (const device of page.devices) {
      await send({ revision: device.revision, event: { $case: 'device', device: toProtoDevice(device) } });
      cursor = device.revision;
    }
    if (page.devices.length < limits.pageSize) {
      // This short page saw every device change up to page.head.
      lastSent = Math.max(cursor, page.head);
      break;
    }
  }
  await send({ revision: lastSent, event: { $case: 'synced', synced: { hubId } } });
  live = true;
  await pump();
}
