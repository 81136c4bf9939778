import { humanBytes } from '../format';

// The progress line of `fleetctl cp` on stderr: bytes, percentage, speed
// and ETA. Speed is measured over this run's bytes only (a resumed upload's
// skipped prefix is not "fast").

export interface ProgressState {
  name: string;
  /** bytes of the file done, including a resumed prefix */
  done: number;
  total: number;
  /** bytes moved by this run (done minus the resume offset) */
  moved: number;
  elapsedMs: number;
}

export function formatProgress(s: ProgressState): string {
  const pct = s.total > 0 ? Math.floor((s.done / s.total) * 100) : 100;
  const seconds = s.elapsedMs / 1000;
  const rate = seconds > 0 ? s.moved / seconds : 0;
  const eta = rate > 0 && s.done < s.total ? duration((s.total - s.done) / rate) : s.done >= s.total ? '0:00' : '--:--';
  return `${s.name}  ${String(pct).padStart(3)}%  ${humanBytes(s.done)} / ${humanBytes(s.total)}  ${(rate / 1e6).toFixed(1)} MB/s  ETA ${eta}`;
}

/** 65 -> "1:05", 3700 -> "1:01:40" */
export function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** Redraws one line on a terminal at most every 100 ms, or prints a line every 2 s elsewhere (--progress into a log). */
export function progressReporter(write: (text: string) => void, tty: boolean, name: string, total: number, offset: number): { update(done: number): void; finish(done: number): void } {
  const start = Date.now();
  let last = 0;
  const line = (done: number) => formatProgress({ name, done, total, moved: done - offset, elapsedMs: Date.now() - start });
  return {
    update(done) {
      const now = Date.now();
      if (now - last < (tty ? 100 : 2000)) return;
      last = now;
      write(tty ? `\r\x1b[K${line(done)}` : `${line(done)}\n`);
    },
    finish(done) {
      write(tty ? `\r\x1b[K${line(done)}\n` : `${line(done)}\n`);
    },
  };
}
