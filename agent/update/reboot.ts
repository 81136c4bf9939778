import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

// How a real device reboots, and how the agent tells afterwards that it did.

export const DEFAULT_REBOOT_COMMAND = ['systemctl', 'reboot'];

/** Runs the reboot command; resolves once it was accepted (the reboot itself follows). */
export function commandReboot(argv: readonly string[] = DEFAULT_REBOOT_COMMAND): () => Promise<void> {
  return () =>
    new Promise((resolve, reject) => {
      execFile(argv[0], argv.slice(1), { timeout: 60_000 }, (err, _out, stderr) =>
        err ? reject(new Error(`reboot command "${argv.join(' ')}" failed: ${stderr.trim() || err.message}`)) : resolve(),
      );
    });
}

/** The kernel's random id of this boot: another value means the device rebooted. */
export async function linuxBootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}
