import type { AdmissionStatus, DevicePage, DeviceQuery, DeviceRow } from '../src-main/common/console-api';

// Feeds the virtualized device grid: fetches only the blocks of rows that are
// on screen (the cache filters and sorts in SQLite), keeps a bounded number of
// blocks, and re-reads what is on screen when the fleet changes — coalesced,
// and keeping the old rows visible until the new ones arrive (no flicker).

export type DeviceFilter = Pick<DeviceQuery, 'text' | 'status' | 'sort' | 'descending'>;

export interface DeviceWindowSnapshot {
  /** rows matching the filter; null until the first answer */
  total: number | null;
  counts: Record<AdmissionStatus, number>;
  error: string;
  version: number;
}

export const BLOCK_ROWS = 100;
const MAX_BLOCKS = 40;

export class DeviceWindowLoader {
  private blocks = new Map<number, DeviceRow[]>();
  private stale = new Map<number, DeviceRow[]>();
  private loading = new Set<number>();
  private generation = 0;
  private first = 0;
  private last = 0;
  private filterKey: string;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private listeners = new Set<() => void>();
  private snap: DeviceWindowSnapshot = { total: null, counts: { pending: 0, accepted: 0, rejected: 0 }, error: '', version: 0 };

  constructor(
    private readonly fetchPage: (query: DeviceQuery) => Promise<DevicePage>,
    private filter: DeviceFilter,
    private readonly coalesceMs = 200,
  ) {
    this.filterKey = JSON.stringify(filter);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): DeviceWindowSnapshot => this.snap;

  rowAt(index: number): DeviceRow | undefined {
    const block = Math.floor(index / BLOCK_ROWS);
    return (this.blocks.get(block) ?? this.stale.get(block))?.[index - block * BLOCK_ROWS];
  }

  /** A new filter or order: everything known is for other rows. */
  setFilter(filter: DeviceFilter): void {
    const key = JSON.stringify(filter);
    if (key === this.filterKey) return;
    this.filter = filter;
    this.filterKey = key;
    this.generation++;
    this.blocks.clear();
    this.stale.clear();
    this.loading.clear();
    this.first = 0;
    this.last = 0;
    this.load();
  }

  /** The grid says which rows are on screen (with overscan). */
  show(first: number, last: number): void {
    this.first = Math.max(0, first);
    this.last = Math.max(this.first, last);
    this.load();
  }

  /** The fleet changed: re-read what is on screen, at most once per coalescing period. */
  refresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.generation++;
      this.stale = new Map([...this.stale, ...this.blocks]);
      this.blocks = new Map();
      this.loading.clear();
      this.load();
    }, this.coalesceMs);
  }

  /** Stops pending work; the loader may still be used again afterwards. */
  stop(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.generation++;
    this.loading.clear();
  }

  private load(): void {
    const firstBlock = Math.floor(this.first / BLOCK_ROWS);
    const lastBlock = Math.floor(this.last / BLOCK_ROWS);
    for (let b = firstBlock; b <= lastBlock; b++) {
      if (!this.blocks.has(b) && !this.loading.has(b)) this.fetchBlock(b);
    }
    this.evict(firstBlock, lastBlock);
  }

  private fetchBlock(block: number): void {
    const generation = this.generation;
    this.loading.add(block);
    this.fetchPage({ ...this.filter, offset: block * BLOCK_ROWS, limit: BLOCK_ROWS }).then(
      (page) => {
        if (generation !== this.generation) return; // answer to an older question
        this.loading.delete(block);
        this.blocks.set(block, page.rows);
        this.stale.delete(block);
        this.publish({ total: page.total, counts: page.counts, error: '' });
      },
      (err: unknown) => {
        if (generation !== this.generation) return;
        this.loading.delete(block);
        this.publish({ error: err instanceof Error ? err.message : String(err) });
      },
    );
  }

  private evict(firstBlock: number, lastBlock: number): void {
    for (const map of [this.blocks, this.stale]) {
      if (map.size <= MAX_BLOCKS) continue;
      for (const b of map.keys()) {
        if (b < firstBlock - MAX_BLOCKS / 2 || b > lastBlock + MAX_BLOCKS / 2) map.delete(b);
      }
    }
  }

  private publish(change: Partial<DeviceWindowSnapshot>): void {
    this.snap = { ...this.snap, ...change, version: this.snap.version + 1 };
    for (const l of this.listeners) l();
  }
}
