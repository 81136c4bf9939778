// At most `size` holders at once; the others wait in order. The simulator
// uses it to reboot a bounded number of its devices at a time (see
// simulator.ts): a waiter whose signal aborts stops waiting.
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`slots must be a whole number >= 1, got ${size}`);
    this.free = size;
  }

  /** Resolves with the release of a slot, or with a no-op once `signal` aborts while waiting. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.resolve(() => undefined);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', abandon);
        resolve(this.releaser());
      };
      const abandon = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(() => undefined);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', abandon, { once: true });
    });
  }

  /** Holders now. */
  get held(): number {
    return this.size - this.free;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
