import { appendFileSync } from 'node:fs';

// Test-only power cuts. FLEET_CRASH_AT names one point: a transition
// ("persisted:store->install", "sim:reboot"; "#2" after the name means its
// second occurrence in this process) or a byte position in a long write
// ("download-bytes:123456", "store-bytes:65536"). The process that reaches it
// kills itself with SIGKILL — a real kill -9, so nothing after it runs: no
// finally, no flush, no exit handler. FLEET_CRASH_TRACE=FILE appends every
// point reached (name#occurrence, one per line), so a test can list the
// transitions of a clean run and then cut at each. Unset (always, outside
// tests) both cost next to nothing.

const crashAt = process.env.FLEET_CRASH_AT ?? '';
const trace = process.env.FLEET_CRASH_TRACE ?? '';
const bytesPoint = /^([a-z-]+)-bytes:(\d+)$/.exec(crashAt);

function die(point: string): void {
  if (trace) appendFileSync(trace, `crash ${point}\n`);
  process.kill(process.pid, 'SIGKILL');
}

const seen = new Map<string, number>();

/** A named point (a state transition): crash here if asked to. */
export function crashPoint(name: string): void {
  if (!trace && !crashAt) return;
  const n = (seen.get(name) ?? 0) + 1;
  seen.set(name, n);
  const point = `${name}#${n}`;
  if (trace) appendFileSync(trace, `${point}\n`);
  if (crashAt === point || (n === 1 && crashAt === name)) die(point);
}

/**
 * A byte position inside a long write (`kind` is "download" or "store"):
 * crash once the position reaches the requested offset.
 */
export function crashAtBytes(kind: string, position: number): void {
  if (bytesPoint && bytesPoint[1] === kind && position >= Number(bytesPoint[2])) die(`${kind}-bytes:${position}`);
}
