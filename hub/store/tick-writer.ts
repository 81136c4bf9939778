// The shape of the hub's batching writers (presence, inventory, update
// reports): records are gathered in memory and written in one transaction
// per tick, or at once on flush(); batches run one at a time, in order, so a
// flush resolves once everything gathered before it is in the database.
export abstract class TickWriter {
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly intervalMs: number) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Writes everything gathered so far; resolves once it is in the database. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBatch());
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Writes what was gathered since the last batch; never rejects (the writer logs what it could not write). */
  protected abstract writeBatch(): Promise<void>;
}
