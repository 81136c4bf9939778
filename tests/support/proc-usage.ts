import { readFileSync } from 'node:fs';

// CPU and memory of a process from /proc, for benchmarks (Linux only).

const ticksPerSecond = 100; // USER_HZ on Linux

export interface ProcUsage {
  /** resident set size, bytes */
  rss: number;
  /** user + system CPU time, seconds */
  cpuSeconds: number;
}

export function procUsage(pid: number): ProcUsage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // Fields after the command name (which may hold spaces) start at index 2 (state).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { rss: rssKb * 1024, cpuSeconds: (utime + stime) / ticksPerSecond };
}

/** Average CPU share (1.0 = one core) and peak RSS over `ms`. */
export async function sampleUsage(pid: number, ms: number): Promise<{ cpuCores: number; rssPeak: number; rssEnd: number }> {
  const start = procUsage(pid);
  const t0 = Date.now();
  let rssPeak = start.rss;
  while (Date.now() - t0 < ms) {
    await new Promise((r) => setTimeout(r, 500));
    rssPeak = Math.max(rssPeak, procUsage(pid).rss);
  }
  const end = procUsage(pid);
  return { cpuCores: (end.cpuSeconds - start.cpuSeconds) / ((Date.now() - t0) / 1000), rssPeak: Math.max(rssPeak, end.rss), rssEnd: end.rss };
}
