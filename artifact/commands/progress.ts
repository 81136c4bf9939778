// Progress of big payloads on stderr, at most once a second.
import type { ProgressEvent } from '../payload-source';

const BIG = 64 * 1024 * 1024;
const MiB = 1024 * 1024;

export function progressReporter(names: string[]): (e: ProgressEvent) => void {
  let last = 0;
  return (e) => {
    const now = Date.now();
    const total = e.total;
    const finished = e.bytes === total;
    if (total === null || total < BIG || (now - last < 1000 && !finished)) return;
    last = now;
    const verb = e.phase === 'prepare' ? 'hashing/compressing' : 'writing';
    process.stderr.write(`${verb} payload ${e.index} (${names[e.index]}): ${Math.floor((e.bytes / total) * 100)}% (${Math.round(e.bytes / MiB)} of ${Math.round(total / MiB)} MiB)\n`);
  };
}
