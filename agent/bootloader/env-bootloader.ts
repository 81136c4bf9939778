import { randomBytes } from 'node:crypto';
import { type BootState, type Bootloader, type BootloaderKind, type Slot, isSlot, otherSlot } from './bootloader';

// The A/B rules, written once for every backend. A backend only has to read
// its environment and write a set of variables in ONE write (EnvStore); this
// class decides what each transition writes. The invariant that makes every
// method idempotent: upgrade_available=1 exactly when fleet_boot_part names a
// slot on trial, so rollback can always go to the other one.

export const VAR = {
  part: 'fleet_boot_part',
  upgrade: 'upgrade_available',
  count: 'bootcount',
  limit: 'bootlimit',
  fallback: 'fleet_fallback',
  canary: 'fleet_canary',
} as const;

/** Mender's choice: the first interrupted trial boot already falls back. */
export const DEFAULT_BOOTLIMIT = 1;

export type EnvVars = Record<string, string>;

/** A bootloader environment: read it, and change several variables in one write. */
export interface EnvStore {
  /** Names the environment in messages, e.g. "U-Boot environment (fw_env.config /etc/fw_env.config)". */
  readonly description: string;
  read(): Promise<EnvVars>;
  /** Sets each variable; `null` removes it. All in one write of the environment. */
  write(changes: Record<string, string | null>): Promise<void>;
}

export interface EnvBootloaderOptions {
  kind: BootloaderKind;
  store: EnvStore;
  /** Which slot runs now (normally the kernel command line). */
  activeSlot: () => Promise<Slot>;
  /** bootlimit written by prepareSwitch; default: the environment's own, else DEFAULT_BOOTLIMIT. */
  bootlimit?: number;
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Refuses what no environment format can carry, before anything is written. */
export function checkChanges(changes: Record<string, string | null>): void {
  for (const [name, value] of Object.entries(changes)) {
    if (!VAR_NAME.test(name)) throw new Error(`bad bootloader variable name ${JSON.stringify(name)}: letters, digits and _ only`);
    if (value !== null && /[\n\r\0]/.test(value)) throw new Error(`bootloader variable ${name}: value must be one line without NUL bytes`);
  }
}

function count(text: string | undefined): number {
  const n = Number.parseInt(text ?? '', 10);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

export class EnvBootloader implements Bootloader {
  readonly kind: BootloaderKind;
  private readonly store: EnvStore;
  private readonly activeSlot: () => Promise<Slot>;
  private readonly bootlimit: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: EnvBootloaderOptions) {
    if (opts.bootlimit !== undefined && !(Number.isInteger(opts.bootlimit) && opts.bootlimit >= 1)) {
      throw new Error(`bootlimit must be a whole number >= 1, got ${opts.bootlimit}`);
    }
    this.kind = opts.kind;
    this.store = opts.store;
    this.activeSlot = opts.activeSlot;
    this.bootlimit = opts.bootlimit;
  }

  state(): Promise<BootState> {
    return this.serial(async () => (await this.read()).state);
  }

  prepareSwitch(target: Slot): Promise<void> {
    return this.serial(async () => {
      if (!isSlot(target)) throw new Error(`prepareSwitch: slot must be "a" or "b", got ${JSON.stringify(target)}`);
      const { state, vars } = await this.read();
      if (target === state.active) {
        throw new Error(`cannot switch to slot ${target}: it is the running slot; install into slot ${otherSlot(target)} and switch to that`);
      }
      if (state.upgradeAvailable && state.next !== target) {
        throw new Error(`cannot switch to slot ${target}: slot ${state.next} is still on trial (upgrade_available=1); commit or roll back first`);
      }
      const limit = this.bootlimit ?? (count(vars[VAR.limit]) || DEFAULT_BOOTLIMIT);
      await this.write({ [VAR.part]: target, [VAR.upgrade]: '1', [VAR.count]: '0', [VAR.limit]: String(limit), [VAR.fallback]: '0' });
    });
  }

  commit(): Promise<void> {
    return this.serial(async () => {
      const { state } = await this.read();
      if (state.upgradeAvailable && state.next !== state.active) {
        throw new Error(`cannot commit: slot ${state.active} is running but slot ${state.next} is the one on trial; the device has not booted it yet (reboot first, or roll back)`);
      }
      if (!state.upgradeAvailable && state.next === state.active && state.bootcount === 0 && !state.fellBack) return;
      await this.write({ [VAR.part]: state.active, [VAR.upgrade]: '0', [VAR.count]: '0', [VAR.fallback]: '0' });
    });
  }

  rollback(): Promise<void> {
    return this.serial(async () => {
      const { state } = await this.read();
      if (!state.upgradeAvailable) return;
      await this.write({ [VAR.part]: otherSlot(state.next), [VAR.upgrade]: '0', [VAR.count]: '0' });
    });
  }

  canary(): Promise<void> {
    return this.serial(async () => {
      const token = randomBytes(8).toString('hex');
      const where = this.store.description;
      await this.write({ [VAR.canary]: token }).catch((err: Error) => {
        throw new Error(`canary: ${err.message}`);
      });
      const seen = (
        await this.store.read().catch((err: Error) => {
          throw new Error(`canary: wrote ${VAR.canary} but cannot read the environment back: ${err.message}`);
        })
      )[VAR.canary];
      if (seen !== token) {
        throw new Error(
          `canary: ${where}: wrote ${VAR.canary}=${token} but read back ${seen === undefined ? 'nothing' : JSON.stringify(seen)}; ` +
            'writes do not reach the environment that is read (check the device, offset and size)',
        );
      }
      await this.write({ [VAR.canary]: null });
      const left = (await this.store.read())[VAR.canary];
      if (left !== undefined) throw new Error(`canary: ${where}: removed ${VAR.canary} but it is still there (${JSON.stringify(left)})`);
    });
  }

  private async read(): Promise<{ state: BootState; vars: EnvVars }> {
    const vars = await this.store.read();
    const part = vars[VAR.part];
    if (!isSlot(part)) {
      throw new Error(
        `${this.store.description}: ${VAR.part} is ${part === undefined ? 'not set' : JSON.stringify(part)}; ` +
          'it must be "a" or "b" (the board\'s default environment sets it, see docs/bootloader.md)',
      );
    }
    const active = await this.activeSlot();
    const state: BootState = {
      active,
      next: part,
      upgradeAvailable: vars[VAR.upgrade] === '1',
      bootcount: count(vars[VAR.count]),
      bootlimit: count(vars[VAR.limit]),
      fellBack: vars[VAR.fallback] === '1',
    };
    return { state, vars };
  }

  private async write(changes: Record<string, string | null>): Promise<void> {
    checkChanges(changes);
    await this.store.write(changes);
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
