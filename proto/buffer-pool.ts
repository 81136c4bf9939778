// Message buffers used again instead of left to the garbage collector. A
// relay or a sender goes through a GiB of 64 KiB messages per GiB moved; as
// fresh buffers that memory lives outside V8's heap, and V8 answers every
// 64 MiB of it with a full mark of the heap (on the hub, a large one). A
// buffer taken here goes back with release() once nothing reads it any
// more — after the socket write that sent it completed — and is handed out
// again. A buffer never released is simply collected: releasing is an
// optimisation, forgetting it costs nothing but garbage.
//
// Every buffer has HEADROOM spare bytes in front of what take() returns,
// so a frame header can be written in place before a message and the
// whole sent in one write (stream-wire.ts writeFrame).

/** Spare bytes in front of every buffer the pool hands out. */
export const HEADROOM = 16;

/** Every buffer a pool made, slab or not (headroom() trusts only these). */
const made = new WeakSet<ArrayBufferLike>();

export class BufferPool {
  private readonly free: Buffer[] = [];
  /** Slabs of this pool that are in `free` (a second release of one is ignored, not handed out twice). */
  private readonly idle = new WeakSet<ArrayBufferLike>();

  constructor(
    /** Largest message served from a slab; bigger ones get a buffer of their own. */
    readonly maxBytes: number,
    /** Free slabs kept; more are left to the collector. */
    private readonly keep: number,
  ) {}

  /** A buffer of `bytes` bytes (contents undefined) with HEADROOM bytes of the same slab in front of it. */
  take(bytes: number): Buffer {
    let slab = bytes > this.maxBytes ? undefined : this.free.pop();
    if (slab) this.idle.delete(slab.buffer);
    else {
      slab = Buffer.allocUnsafeSlow(HEADROOM + Math.max(bytes, this.maxBytes));
      made.add(slab.buffer);
    }
    return slab.subarray(HEADROOM, HEADROOM + bytes);
  }

  /** `view` (any view of a buffer from take()) is no longer read by anyone: its slab may be handed out again. */
  release(view: Uint8Array): void {
    const ab = view.buffer;
    if (!made.has(ab) || ab.byteLength !== HEADROOM + this.maxBytes || this.idle.has(ab) || this.free.length >= this.keep) return;
    this.idle.add(ab);
    this.free.push(Buffer.from(ab, 0, HEADROOM + this.maxBytes));
  }

  /**
   * Bytes in front of `view` that may be overwritten (0 for buffers not
   * from a pool): everything before a view of a pool buffer is spare room or
   * that message's own headers, read already.
   */
  static headroom(view: Uint8Array): number {
    return view.byteOffset >= HEADROOM && made.has(view.buffer) ? view.byteOffset : 0;
  }
}

/**
 * The one pool of a process for channel messages: 64 KiB messages (fleetctl's,
 * the console's and the agent's largest data frames) and their headers fit.
 * 64 free slabs (4 MiB) cover the frames in flight of a few busy channels.
 */
export const messagePool = new BufferPool(64 * 1024 + 64, 64);

/** Messages smaller than this are not worth a slab: Node carves them from its shared 8 KiB pool. */
export const POOLED_MIN_BYTES = 4096;
