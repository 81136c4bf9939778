// Block-aligned buffers for direct I/O (direct-sink.ts). JavaScript cannot
// ask for an aligned allocation, and Node's Buffers come from malloc at
// whatever address it picks. A WebAssembly memory is different: V8 maps it
// with mmap at a 64 KiB-aligned address, so slices of it at multiples of
// DIRECT_ALIGN are aligned for any disk. One memory for the process, made
// on first use and never grown (growing would detach the buffers), cut
// into a fixed number of stage pairs; an upload that finds none free
// writes through the page cache instead. Were the memory not aligned after
// all, the first direct write fails with EINVAL and the sink falls back.

/** Alignment of offsets, lengths and buffers for direct writes: 4 KiB covers 512-byte and 4K-sector disks. */
export const DIRECT_ALIGN = 4096;
export const STAGE_BYTES = 1024 * 1024;
/** Uploads that can write directly at the same time. */
const PAIRS = 8;
const WASM_PAGE = 64 * 1024;

export interface AlignedPair {
  readonly buffers: [Buffer, Buffer];
  release(): void;
}

interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum?: number }): { buffer: ArrayBuffer };
}

class AlignedStages {
  private memory: ArrayBuffer | null | undefined;
  private readonly free: number[] = [];

  constructor(private readonly pairs: number) {}

  take(): AlignedPair | null {
    const memory = this.map();
    const slot = this.free.pop();
    if (!memory || slot === undefined) return null;
    const base = slot * 2 * STAGE_BYTES;
    let released = false;
    return {
      buffers: [Buffer.from(memory, base, STAGE_BYTES), Buffer.from(memory, base + STAGE_BYTES, STAGE_BYTES)],
      release: () => {
        if (released) return;
        released = true;
        this.free.push(slot);
      },
    };
  }

  private map(): ArrayBuffer | null {
    if (this.memory !== undefined) return this.memory;
    const Memory = (globalThis as { WebAssembly?: { Memory: WasmMemoryConstructor } }).WebAssembly?.Memory;
    const pages = (this.pairs * 2 * STAGE_BYTES) / WASM_PAGE;
    try {
      this.memory = Memory ? new Memory({ initial: pages, maximum: pages }).buffer : null;
    } catch {
      this.memory = null; // no address space for it (a tight `ulimit -v`): page-cache writes
    }
    for (let i = this.pairs - 1; i >= 0; i--) this.free.push(i);
    return this.memory;
  }
}

export const aligned = new AlignedStages(PAIRS);
