import type { Metadata } from '@grpc/grpc-js';
import type { HubEvent } from '../store/store';

// Pending devices that asked to wait for an operator's decision. An agent
// that already knows it is pending sends `fleet-wait-ms: N` on Enroll; the
// hub then holds its answer until the device's admission changes (answered
// at once, with a token when accepted) or N ms pass (answered PENDING). An
// accepted device thus comes online within a second however long its poll
// interval is, and a waiting device costs one open call instead of requests.
// Callers without the header are answered at once, as before.

export const WAIT_METADATA = 'fleet-wait-ms';
/** The longest the hub holds an Enroll, whatever the device asks. */
export const MAX_WAIT_MS = 60_000;
/** Answer this long before the caller's deadline, so the answer is not lost. */
const DEADLINE_MARGIN_MS = 2_000;

/** How long to hold this Enroll: what the device asked, within our cap and its deadline. */
export function requestedWaitMs(metadata: Metadata, deadline: Date | number, now = Date.now()): number {
  const raw = metadata.get(WAIT_METADATA)[0];
  const asked = typeof raw === 'string' ? Number(raw) : NaN;
  if (!Number.isFinite(asked) || asked <= 0) return 0;
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  return Math.max(0, Math.min(asked, MAX_WAIT_MS, deadlineMs - now - DEADLINE_MARGIN_MS));
}

export interface Waiter {
  /** Resolves on a decision about the device, at the end of the wait, or on cancel. */
  done: Promise<void>;
  cancel(): void;
}

export class AdmissionWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Devices with a held Enroll right now. */
  get size(): number {
    return this.waiting.size;
  }

  /** Registers synchronously: a decision committed after this call wakes the waiter. */
  wait(deviceId: string, ms: number): Waiter {
    let wake!: () => void;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => wake(), ms);
      wake = () => {
        clearTimeout(timer);
        const set = this.waiting.get(deviceId);
        set?.delete(wake);
        if (set?.size === 0) this.waiting.delete(deviceId);
        resolve();
      };
    });
    let set = this.waiting.get(deviceId);
    if (!set) this.waiting.set(deviceId, (set = new Set()));
    set.add(wake);
    return { done, cancel: wake };
  }

  /** Wakes the waiters of every device whose admission left PENDING in these events. */
  onEvents(events: HubEvent[]): void {
    for (const event of events) {
      const device = event.device;
      if (device && device.status !== 'pending') this.wake(device.id);
    }
  }

  /** Answers every held Enroll now (the hub is stopping). */
  wakeAll(): void {
    for (const id of [...this.waiting.keys()]) this.wake(id);
  }

  private wake(deviceId: string): void {
    const set = this.waiting.get(deviceId);
    if (set) for (const wake of [...set]) wake();
  }
}
