// The hub's view of a channel's end-to-end credit. Each side may send
// data/stderr bytes only up to what the other side granted with `window`
// frames; the hub counts both directions as the frames pass, so a side that
// overruns is caught here (and closed with `protocol`) instead of growing
// buffers on the hub or at the other end.

export type Side = 'console' | 'device';

export const other = (side: Side): Side => (side === 'console' ? 'device' : 'console');

export class CreditLedger {
  /** Bytes each side may still send. */
  private readonly credit: Record<Side, number> = { console: 0, device: 0 };

  /** `from` granted the other side `bytes` more credit. */
  granted(from: Side, bytes: number): void {
    if (Number.isSafeInteger(bytes) && bytes > 0) this.credit[other(from)] += bytes;
  }

  /** `from` sent `bytes` of data; false when that is past its credit (nothing is spent then). */
  spend(from: Side, bytes: number): boolean {
    if (bytes > this.credit[from]) return false;
    this.credit[from] -= bytes;
    return true;
  }

  available(side: Side): number {
    return this.credit[side];
  }
}
