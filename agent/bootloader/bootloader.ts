// The one interface the update state machine uses to switch root filesystem
// slots, whatever bootloader the device has. docs/bootloader.md explains the
// variables, the boot-count fallback and the boot scripts each backend needs.

export type Slot = 'a' | 'b';

export type BootloaderKind = 'uboot' | 'grub' | 'sim';

export interface BootState {
  /** The slot running now (the kernel command line's `fleet.slot=`). */
  active: Slot;
  /** `fleet_boot_part`: the slot the bootloader boots next (unless the boot limit sends it back). */
  next: Slot;
  /** `upgrade_available`: `next` is on trial, not committed; the bootloader counts its boots. */
  upgradeAvailable: boolean;
  /** `bootcount`: boots of the trial slot so far. */
  bootcount: number;
  /** `bootlimit`: once `bootcount` exceeds it, the bootloader falls back to the other slot. */
  bootlimit: number;
  /** `fleet_fallback`: the bootloader gave up on a trial slot by itself (set by its fallback script). */
  fellBack: boolean;
}

/**
 * Every method is one atomic write of the bootloader environment (or none),
 * and every method is idempotent, so the state machine can simply repeat the
 * step it was in after a power cut. Calls on one instance are serialised.
 */
export interface Bootloader {
  readonly kind: BootloaderKind;
  /** What the environment and the kernel command line say now. */
  state(): Promise<BootState>;
  /**
   * Boot `target` next, on trial: fleet_boot_part=target, upgrade_available=1,
   * bootcount=0, bootlimit, fleet_fallback=0 — one write. Refuses the running
   * slot and refuses while another slot's trial is not committed or rolled back.
   */
  prepareSwitch(target: Slot): Promise<void>;
  /**
   * Make the running slot permanent: fleet_boot_part=<running slot>,
   * upgrade_available=0, bootcount=0, fleet_fallback=0. Refuses when a trial is pending for a slot that is not
   * the running one (the device has not booted it yet). Nothing to write when
   * no trial is pending.
   */
  commit(): Promise<void>;
  /**
   * Undo a pending trial: point fleet_boot_part back at the other slot (the
   * old one), upgrade_available=0, bootcount=0. Nothing to write when no trial
   * is pending (already rolled back, by us or by the bootloader's fallback).
   */
  rollback(): Promise<void>;
  /**
   * Proves the environment is really writable: writes a random `fleet_canary`,
   * reads it back through the reading path, then removes it. Throws an error
   * that says what failed and what to check.
   */
  canary(): Promise<void>;
}

export function isSlot(value: unknown): value is Slot {
  return value === 'a' || value === 'b';
}

export function otherSlot(slot: Slot): Slot {
  return slot === 'a' ? 'b' : 'a';
}
