import type { RemoteTransferProgress } from '../../../src-main/common/console-api';

const WINDOW_MS = 2000;

/** Speed over the last two seconds and the ETA at that speed, from byte counts as they come. */
export class SpeedMeter {
  private readonly samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.samples.push({ t: this.now(), bytes: 0 });
  }

  update(bytes: number): RemoteTransferProgress {
    const t = this.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[1].t >= WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const span = t - first.t;
    const bytesPerSecond = span >= 50 ? ((bytes - first.bytes) * 1000) / span : 0;
    const left = this.total - bytes;
    return { bytes, total: this.total, bytesPerSecond, etaSeconds: left <= 0 ? 0 : bytesPerSecond > 0 ? left / bytesPerSecond : null };
  }
}
