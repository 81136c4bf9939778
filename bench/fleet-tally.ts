import * as grpc from '@grpc/grpc-js';
import { AdmissionStatus } from '../proto/gen/fleet/v1/common';
import type { ConsoleServiceClient, WatchEvent } from '../proto/gen/fleet/v1/console';

// How many devices the hub knows, and how many are online or pending, kept
// from the hub's Watch feed, as the console's cache does. Polling ListDevices
// instead would cost the hub O(N) per probe: at 10,000 devices, ten pages of
// full device records every half second, which is load the benchmark itself
// would put on the hub it measures.

interface Seen {
  online: boolean;
  status: AdmissionStatus;
  revision: number;
}

export class FleetTally {
  private readonly devices = new Map<string, Seen>();
  private stream?: grpc.ClientReadableStream<WatchEvent>;
  private hubId = '';
  /** Resume point; valid once the first snapshot is complete (synced). */
  private revision = 0;
  private synced = false;
  private closed = false;
  private reopen?: NodeJS.Timeout;

  constructor(
    private readonly client: ConsoleServiceClient,
    private readonly token: string,
  ) {
    this.open();
  }

  get total(): number {
    return this.devices.size;
  }

  count(what: 'online' | 'pending'): number {
    let n = 0;
    for (const d of this.devices.values()) if (what === 'online' ? d.online : d.status === AdmissionStatus.ADMISSION_STATUS_PENDING) n++;
    return n;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reopen);
    this.stream?.cancel();
  }

  private open(): void {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.token}`);
    const stream = this.client.watch(this.synced ? { sinceRevision: this.revision, hubId: this.hubId } : { sinceRevision: 0, hubId: '' }, md);
    this.stream = stream;
    stream.on('data', (event: WatchEvent) => this.apply(event));
    // A watcher that fell behind is cut off by the hub: resume from our cursor.
    stream.on('error', (err: grpc.ServiceError) => {
      if (this.closed) return;
      console.error(`bench: Watch ended (${err.code} ${err.details}); resuming`);
      this.reopen = setTimeout(() => this.open(), 200);
    });
  }

  private apply(event: WatchEvent): void {
    const e = event.event;
    if (e?.$case === 'resync') {
      this.devices.clear();
      this.hubId = e.resync.hubId;
      this.synced = false;
    } else if (e?.$case === 'synced') {
      this.synced = true;
      this.revision = event.revision;
    } else if (e?.$case === 'device') {
      const d = e.device;
      const known = this.devices.get(d.id);
      if (!known || known.revision < d.revision) this.devices.set(d.id, { online: d.online, status: d.status, revision: d.revision });
      if (this.synced) this.revision = Math.max(this.revision, event.revision);
    }
  }
}
