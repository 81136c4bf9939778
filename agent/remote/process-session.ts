import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';

// Ending a shell must end everything it started. An interactive shell puts
// each job in its own process group, so killing the shell's group is not
// enough; every process of the shell's session (node-pty makes the shell a
// session leader: session id = its pid) gets the signal.

/** Live pids whose session id is `sid` (Linux /proc; zombies are already dead and skipped). */
export function sessionPids(sid: number): number[] {
  const pids: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name "(...)": state ppid pgrp session ...
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[3]) === sid && rest[0] !== 'Z') pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Sends `signal` to the process group and to every process of session `sid`. */
export function signalSession(sid: number, signal: NodeJS.Signals): void {
  const send = (pid: number): void => {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  };
  send(-sid);
  for (const pid of sessionPids(sid)) send(pid);
}

/** 15 → 'SIGTERM'. */
export function signalName(signal: number): string {
  const entry = Object.entries(constants.signals).find(([, n]) => n === signal);
  return entry ? entry[0] : String(signal);
}
