import { randomBytes } from 'node:crypto';
import type { ChannelError } from '../../proto/gen/fleet/v1/channel';
import type { DeviceChannelCall } from './relay-end';

/** How asking a device for a channel turned out. */
export type PairingOutcome =
  | { kind: 'dialed'; call: DeviceChannelCall }
  | { kind: 'refused'; error: ChannelError }
  | { kind: 'offline' }
  | { kind: 'timeout' }
  | { kind: 'cancelled' };

export interface PendingChannel {
  readonly channelId: string;
  readonly deviceId: string;
  readonly outcome: Promise<PairingOutcome>;
  /** The console gave up (its call ended): the id stops being valid. */
  cancel(): void;
}

interface Entry {
  deviceId: string;
  settle: (outcome: PairingOutcome) => void;
}

// Channel ids the hub sent in a ChannelRequest and waits for: the device's
// answer on its control stream, and its Channel call carrying the id. An id
// is valid once, for one device, until the open timeout; then it is forgotten
// (a late dial gets NOT_FOUND).
export class PendingChannels {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.entries.size;
  }

  create(deviceId: string): PendingChannel {
    // 144 random bits: not guessable, and only good for this device anyway.
    const channelId = randomBytes(18).toString('base64url');
    let settle!: (outcome: PairingOutcome) => void;
    const outcome = new Promise<PairingOutcome>((resolve) => {
      const timer = setTimeout(() => settle({ kind: 'timeout' }), this.timeoutMs);
      settle = (o) => {
        if (this.entries.get(channelId)?.settle !== settle) return;
        this.entries.delete(channelId);
        clearTimeout(timer);
        resolve(o);
      };
    });
    this.entries.set(channelId, { deviceId, settle });
    return { channelId, deviceId, outcome, cancel: () => settle({ kind: 'cancelled' }) };
  }

  /** The device dialled back; false when the id is unknown, expired or another device's. */
  dialed(channelId: string, deviceId: string, call: DeviceChannelCall): boolean {
    const entry = this.entries.get(channelId);
    if (!entry || entry.deviceId !== deviceId) return false;
    entry.settle({ kind: 'dialed', call });
    return true;
  }

  /** The device answered on its control stream. An acceptance changes nothing: the dial is what pairs. */
  answered(deviceId: string, channelId: string, refused: ChannelError | undefined): void {
    const entry = this.entries.get(channelId);
    if (!entry || entry.deviceId !== deviceId || !refused) return;
    entry.settle({ kind: 'refused', error: refused });
  }

  /** The device's control stream is gone: nothing it was asked will be answered. */
  deviceOffline(deviceId: string): void {
    for (const entry of [...this.entries.values()]) if (entry.deviceId === deviceId) entry.settle({ kind: 'offline' });
  }

  cancelAll(): void {
    for (const entry of [...this.entries.values()]) entry.settle({ kind: 'cancelled' });
  }
}
