import { readFile } from 'node:fs/promises';
import { type Slot, isSlot } from './bootloader';

// Which slot is running is known only to the bootloader at boot time: its
// script passes `fleet.slot=a|b` on the kernel command line (U-Boot bootargs,
// GRUB's linux line; the simulator writes its own cmdline file). Reading it
// back is the one truthful answer, even right after the environment was
// pointed at the other slot.

export const DEFAULT_CMDLINE = '/proc/cmdline';

export function slotFromCmdline(text: string): Slot | null {
  for (const word of text.trim().split(/\s+/)) {
    if (!word.startsWith('fleet.slot=')) continue;
    const value = word.slice('fleet.slot='.length);
    return isSlot(value) ? value : null;
  }
  return null;
}

export async function readActiveSlot(path: string): Promise<Slot> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the kernel command line ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const slot = slotFromCmdline(text);
  if (!slot) {
    throw new Error(`${path} has no fleet.slot=a or fleet.slot=b: the boot script must pass the running slot to the kernel (see docs/bootloader.md)`);
  }
  return slot;
}
