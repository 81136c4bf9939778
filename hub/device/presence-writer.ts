import type { HubStore, PresenceChange } from '../store/store';
import { TickWriter } from '../store/tick-writer';

// Online/offline transitions and last-seen times are gathered in memory and
// written in one transaction per tick: 10,000 devices connecting at once make
// a few hundred transactions, not 10,000. Transitions keep their order (an
// offline then online of a reconnecting device stays in that order); last-seen
// times are coalesced per device and never create events.
export class PresenceWriter extends TickWriter {
  private transitions: PresenceChange[] = [];
  private lastSeen = new Map<string, number>();

  constructor(
    private readonly store: HubStore,
    intervalMs: number,
    private readonly log: (line: string) => void,
  ) {
    super(intervalMs);
  }

  online(deviceId: string, actor: string, now = Date.now()): void {
    this.transitions.push({ deviceId, online: true, lastSeenMs: now, actor });
  }

  offline(deviceId: string, actor: string, now = Date.now()): void {
    this.transitions.push({ deviceId, online: false, lastSeenMs: now, actor });
  }

  seen(deviceId: string, now = Date.now()): void {
    this.lastSeen.set(deviceId, now);
  }

  protected async writeBatch(): Promise<void> {
    if (!this.transitions.length && !this.lastSeen.size) return;
    const batch = this.transitions;
    this.transitions = [];
    for (const [deviceId, lastSeenMs] of this.lastSeen) batch.push({ deviceId, lastSeenMs, actor: `device:${deviceId}` });
    this.lastSeen.clear();
    try {
      await this.store.applyPresence(batch);
    } catch (err) {
      this.log(`could not record presence of ${batch.length} devices: ${(err as Error).message}`);
    }
  }
}
