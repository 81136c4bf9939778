import type { ChannelFrame, ChannelPeer } from './channel-frame';

// Two connected in-memory peers: the transport for tests and for in-process
// use. Frames are delivered asynchronously and in order, like a real stream;
// a close is delivered after the frames sent before it. The queue holds only
// what the sender sent, which credit-based flow control already bounds.

class MemoryPeer implements ChannelPeer {
  other!: MemoryPeer;
  private frameListeners = new Set<(frame: ChannelFrame) => void>();
  private closeListeners = new Set<(reason: string) => void>();
  private queue: Array<{ frame?: ChannelFrame; close?: string }> = [];
  private scheduled = false;
  private ended = false;
  closed = false;

  send(frame: ChannelFrame): void {
    if (this.closed) return;
    // The sender may reuse its buffer once send returns (ChannelPeer.send).
    if (frame.$case === 'data') frame = { $case: 'data', data: Buffer.from(frame.data) };
    else if (frame.$case === 'stderr') frame = { $case: 'stderr', stderr: Buffer.from(frame.stderr) };
    this.other.deliver({ frame });
  }

  onFrame(listener: (frame: ChannelFrame) => void): () => void {
    this.frameListeners.add(listener);
    if (this.queue.length > 0) this.schedule();
    return () => this.frameListeners.delete(listener);
  }

  onClose(listener: (reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.other.deliver({ close: reason });
    this.end(reason);
  }

  private deliver(item: { frame?: ChannelFrame; close?: string }): void {
    if (this.ended) return;
    this.queue.push(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  // Frames wait for the first listener (a session subscribes after its async
  // setup); the close waits behind them.
  private drain(): void {
    this.scheduled = false;
    while (this.queue.length > 0 && !this.ended) {
      const item = this.queue[0];
      if (item.frame && this.frameListeners.size === 0) return;
      this.queue.shift();
      if (item.frame) for (const l of [...this.frameListeners]) l(item.frame);
      else {
        this.closed = true;
        this.end(item.close ?? 'closed');
      }
    }
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.queue = [];
    for (const l of [...this.closeListeners]) l(reason);
    this.frameListeners.clear();
    this.closeListeners.clear();
  }
}

export interface ChannelPair {
  /** The device's end (what a session gets). */
  device: ChannelPeer;
  /** The operator's end (what the hub relay or a console would hold). */
  operator: ChannelPeer;
}

export function createChannelPair(): ChannelPair {
  const a = new MemoryPeer();
  const b = new MemoryPeer();
  a.other = b;
  b.other = a;
  return { device: a, operator: b };
}
