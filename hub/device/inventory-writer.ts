import type { HubStore, InventoryUpdate } from '../store/store';
import { TickWriter } from '../store/tick-writer';

// Inventory reports are gathered in memory and written in one transaction
// per tick, in the order they came: every agent sends its full inventory
// after each connect, so 10,000 devices reconnecting after an update's
// reboot (each with a new version and slot) made 10,000 transactions, one
// per report, that queued before the devices' other messages.
export class InventoryWriter extends TickWriter {
  private queued: InventoryUpdate[] = [];

  constructor(
    private readonly store: HubStore,
    intervalMs: number,
    private readonly log: (line: string) => void,
  ) {
    super(intervalMs);
  }

  /** Queues a checked inventory report (full, or a patch where '' removes a key). */
  add(update: InventoryUpdate): void {
    this.queued.push(update);
  }

  protected async writeBatch(): Promise<void> {
    if (!this.queued.length) return;
    const batch = this.queued;
    this.queued = [];
    try {
      await this.store.applyInventories(batch);
    } catch (err) {
      // The devices send their full inventory again on their next connect.
      this.log(`could not record the inventory of ${batch.length} reports: ${(err as Error).message}`);
    }
  }
}
