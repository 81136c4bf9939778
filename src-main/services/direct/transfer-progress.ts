/** Where a file transfer stands, as the UI shows it. */
export interface TransferProgress {
  bytes: number;
  total: number;
  /** over the last couple of seconds (0 until measurable) */
  bytesPerSecond: number;
  /** seconds left at the current speed; null while unknown */
  etaSeconds: number | null;
}

const WINDOW_MS = 2_000;

// Turns ssh2's per-chunk step callbacks (hundreds per second) into progress
// events at most every `intervalMs`, with the speed measured over a sliding
// window so the ETA follows the link as it is now, not its average.
export class ProgressMeter {
  private readonly samples: { t: number; bytes: number }[] = [];
  private lastEmit = 0;
  private bytes = 0;

  constructor(
    private readonly total: number,
    private readonly onProgress: ((p: TransferProgress) => void) | undefined,
    private readonly intervalMs = 200,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.samples.push({ t: this.now(), bytes: 0 });
  }

  /** Records the bytes done so far; emits when the interval has passed. */
  update(bytes: number): void {
    this.bytes = bytes;
    const t = this.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[1].t >= WINDOW_MS) this.samples.shift();
    if (t - this.lastEmit >= this.intervalMs) {
      this.lastEmit = t;
      this.emit();
    }
  }

  /** Emits the final state (always, so the UI sees 100 %). */
  finish(): void {
    this.update(this.bytes);
    this.emit();
  }

  current(): TransferProgress {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const span = last.t - first.t;
    const bytesPerSecond = span >= 50 ? ((last.bytes - first.bytes) * 1000) / span : 0;
    const left = this.total - this.bytes;
    return { bytes: this.bytes, total: this.total, bytesPerSecond, etaSeconds: left <= 0 ? 0 : bytesPerSecond > 0 ? left / bytesPerSecond : null };
  }

  private emit(): void {
    this.onProgress?.(this.current());
  }
}
