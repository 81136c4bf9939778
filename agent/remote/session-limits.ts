import { RemoteError } from './remote-error';

// Counts open sessions, in total and per operator, and refuses past the
// limits. A slot is taken before anything is started and given back exactly
// once, whichever way the session ends.

export class SessionLimits {
  private total = 0;
  private perOperator = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerOperator: number,
    private readonly what = 'sessions',
  ) {}

  openFor(operator: string): number {
    return this.perOperator.get(operator) ?? 0;
  }

  /** Throws `too-many-sessions` when a limit is reached; else takes a slot and returns its release function. */
  acquire(operator: string): () => void {
    if (this.total >= this.maxTotal) throw new RemoteError('too-many-sessions', `this device already has ${this.total} ${this.what} open (its limit); close one first`);
    const mine = this.openFor(operator);
    if (mine >= this.maxPerOperator) throw new RemoteError('too-many-sessions', `operator ${operator} already has ${mine} ${this.what} open on this device (the per-operator limit); close one first`);
    this.total++;
    this.perOperator.set(operator, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const n = this.openFor(operator) - 1;
      if (n > 0) this.perOperator.set(operator, n);
      else this.perOperator.delete(operator);
    };
  }
}
