import type { Frame, HubChannel } from './hub-channel';
import { RemoteFailure } from './remote-failure';

// Reads a channel's frames one at a time (`await next()`), for the
// request/answer parts of file operations. A refusal (error then close)
// rejects with the device's code; any other end rejects as `closed`.
export class FrameQueue {
  private readonly frames: Frame[] = [];
  private waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | null = null;
  private ended: RemoteFailure | null = null;

  constructor(channel: HubChannel, what: string) {
    channel.onFrame((frame) => {
      if (frame.$case === 'error') return; // the close that follows carries it
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(frame);
      } else this.frames.push(frame);
    });
    channel.onClose((reason, error) => {
      this.ended = error ?? new RemoteFailure(reason === 'done' ? 'done' : 'closed', `${what} ended: ${reason || 'the channel closed'}`);
      this.waiter?.reject(this.ended);
      this.waiter = null;
    });
  }

  next(): Promise<Frame> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The next frame, which must be `kind`; window frames before it are handed to `onWindow`. */
  async expect<K extends Frame['$case']>(kind: K, onWindow?: (bytes: number) => void): Promise<Extract<Frame, { $case: K }>> {
    for (;;) {
      const f = await this.next();
      if (f.$case === kind) return f as Extract<Frame, { $case: K }>;
      if (f.$case === 'window' && onWindow) onWindow(f.window.bytes);
      else if (f.$case !== 'window') throw new RemoteFailure('protocol', `expected a ${kind} frame from the device, got ${f.$case}`);
    }
  }
}
