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

/** One size of buffer a pool keeps. */
export interface SizeClass {
  /** Largest message served from this class's slabs. */
  maxBytes: number;
  /** Free slabs kept; more are left to the collector. */
  keep: number;
}

export class BufferPool {
  /** Free slabs by their byte length (HEADROOM + the class's maxBytes). */
  private readonly free = new Map<number, Buffer[]>();
  /** Slabs that are in a free list (a second release of one is ignored, not handed out twice). */
  private readonly idle = new WeakSet<ArrayBufferLike>();
  private readonly keep = new Map<number, number>();
  private readonly classes: SizeClass[];

  /** Classes from small to big; a message bigger than the biggest gets a buffer of its own. */
  constructor(classes: SizeClass[]) {
    this.classes = [...classes].sort((a, b) => a.maxBytes - b.maxBytes);
    for (const c of this.classes) {
      this.free.set(HEADROOM + c.maxBytes, []);
      this.keep.set(HEADROOM + c.maxBytes, c.keep);
    }
  }

  /** A buffer of `bytes` bytes (contents undefined) with HEADROOM bytes of the same slab in front of it. */
  take(bytes: number): Buffer {
    const size = HEADROOM + (this.classes.find((c) => c.maxBytes >= bytes)?.maxBytes ?? bytes);
    let slab = this.free.get(size)?.pop();
    if (slab) this.idle.delete(slab.buffer);
    else {
      slab = Buffer.allocUnsafeSlow(size);
      made.add(slab.buffer);
    }
    return slab.subarray(HEADROOM, HEADROOM + bytes);
  }

  /** `view` (any view of a buffer from take()) is no longer read by anyone: its slab may be handed out again. */
  release(view: Uint8Array): void {
    const ab = view.buffer;
    const free = this.free.get(ab.byteLength);
    if (!free || !made.has(ab) || this.idle.has(ab) || free.length >= this.keep.get(ab.byteLength)!) return;
    this.idle.add(ab);
    free.push(Buffer.from(ab, 0, ab.byteLength));
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
 * The one pool of a process for channel messages: data frames of up to
 * 64 KiB (tunnels, shells, downloads) and of up to 256 KiB (uploads), with
 * their headers. The free lists hold only what was once in flight at the
 * same time, at most 8 MiB in all.
 */
export const messagePool = new BufferPool([
  { maxBytes: 64 * 1024 + 64, keep: 64 },
  { maxBytes: 256 * 1024 + 64, keep: 16 },
]);

/** Messages smaller than this are not worth a slab: Node carves them from its shared 8 KiB pool. */
export const POOLED_MIN_BYTES = 4096;
