import { Worker } from 'node:worker_threads';
import type { DownloadHash } from './download-hash';

// A sha256 computed on a worker thread. The bytes are copied once into a
// ring of shared memory and the worker is told which region to hash; it
// answers how far it got. The file is written from the same ring (update()
// returns the ring's views of the bytes), so the received bytes' buffers
// can be reused at once, and the disk gets a few large buffers instead of ~130,000 pieces
// per GiB. A part of the ring is reused once it is both hashed and written
// (written()). Nothing is allocated per chunk, and a worker or disk that
// falls behind holds the download back by at most the ring's size. Messages
// are in order, so a digest asked after the last update covers every byte.

/** Holds the download writer's queue (8 MiB, see DownloadWriter) plus what the worker has still to hash. */
const RING_BYTES = 16 * 1024 * 1024;
/** The worker is told about new bytes once this many are waiting: each message wakes a thread, which costs the sender its CPU on a busy device. */
const POST_BYTES = 1024 * 1024;

// Plain CommonJS evaluated by the worker: no module file to find in an
// installed or bundled agent.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const ring = Buffer.from(workerData.ring);
const hash = createHash('sha256');
let hashed = 0;
parentPort.on('message', (m) => {
  try {
    if (m.op === 'bytes') {
      hash.update(ring.subarray(m.start, m.start + m.length));
      hashed += m.length;
      parentPort.postMessage({ op: 'hashed', hashed });
    } else if (m.op === 'prefix') {
      const fd = openSync(m.file, 'r');
      try {
        const buf = Buffer.allocUnsafe(1024 * 1024);
        let pos = 0;
        while (pos < m.length) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, m.length - pos), pos);
          if (n === 0) throw new Error('the file ' + m.file + ' ends at byte ' + pos + ', before ' + m.length);
          hash.update(buf.subarray(0, n));
          pos += n;
        }
      } finally {
        closeSync(fd);
      }
      parentPort.postMessage({ op: 'done' });
    } else if (m.op === 'digest') {
      parentPort.postMessage({ op: 'done', hex: hash.digest('hex') });
    }
  } catch (err) {
    parentPort.postMessage({ op: 'failed', message: String((err && err.message) || err) });
  }
});
`;

type WorkerAnswer = { op: 'hashed'; hashed: number } | { op: 'done'; hex?: string } | { op: 'failed'; message: string };

export class BackgroundHash implements DownloadHash {
  /** update() answers with views of the ring, where it copied the bytes. */
  readonly copies = true;
  private readonly worker: Worker;
  private readonly ring: Buffer;
  /** Bytes copied into the ring so far. */
  private produced = 0;
  /** Bytes of the ring the worker has hashed. */
  private consumed = 0;
  /** Bytes of the ring written to the file (written()). */
  private released = 0;
  /** Bytes copied into the ring the worker has not been told about, from `pendingStart`. */
  private pendingStart = 0;
  private pendingBytes = 0;
  private readonly replies: { resolve(hex?: string): void; reject(err: Error): void }[] = [];
  private wakeRoom?: () => void;
  private failure?: Error;
  private closed = false;

  constructor(private readonly ringBytes = RING_BYTES) {
    const shared = new SharedArrayBuffer(ringBytes);
    this.ring = Buffer.from(shared);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ring: shared } });
    // A forgotten close() must not keep the agent alive.
    this.worker.unref();
    this.worker.on('message', (m: WorkerAnswer) => this.onAnswer(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`exited with code ${code}`));
    });
  }

  prefix(file: string, length: number): Promise<void> {
    if (length === 0) return Promise.resolve();
    return this.ask({ op: 'prefix', file, length }).then(() => undefined);
  }

  async update(parts: readonly Uint8Array[]): Promise<readonly Uint8Array[]> {
    const size = this.ringBytes;
    const views: Uint8Array[] = [];
    let viewStart = this.produced % size;
    let viewBytes = 0;
    for (const part of parts) {
      let done = 0;
      while (done < part.length) {
        if (this.failure) throw this.failure;
        const free = size - (this.produced - Math.min(this.consumed, this.released));
        if (free === 0) {
          // This update's own bytes are not yet with the writer: one that
          // fills the ring by itself would wait forever.
          if (viewBytes + views.reduce((n, v) => n + v.length, 0) >= size) throw new Error(`one update of more than ${size} bytes`);
          this.post();
          await new Promise<void>((resolve) => (this.wakeRoom = resolve));
          continue;
        }
        const at = this.produced % size;
        // A region is contiguous: the ring wrapped, tell the worker about the end part.
        if (at === 0) {
          this.post();
          if (viewBytes > 0) views.push(this.ring.subarray(viewStart, viewStart + viewBytes));
          viewStart = 0;
          viewBytes = 0;
        }
        const n = Math.min(part.length - done, free, size - at);
        // Buffer#copy is a plain memmove; TypedArray#set into shared memory
        // copies with relaxed atomics, several times slower.
        Buffer.from(part.buffer, part.byteOffset + done, n).copy(this.ring, at);
        this.produced += n;
        done += n;
        this.pendingBytes += n;
        viewBytes += n;
      }
    }
    if (this.pendingBytes >= POST_BYTES) this.post();
    if (viewBytes > 0) views.push(this.ring.subarray(viewStart, viewStart + viewBytes));
    return views;
  }

  abort(reason: Error): void {
    this.failure ??= reason;
    this.fail(reason);
  }

  written(bytes: number): void {
    this.released += bytes;
    this.wake();
  }

  async digest(): Promise<string> {
    this.post();
    const hex = await this.ask({ op: 'digest' });
    if (!hex) throw new Error('the hashing thread gave no digest');
    return hex;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('closed'));
    await this.worker.terminate();
  }

  /** Tells the worker about the bytes copied since the last message. */
  private post(): void {
    if (this.pendingBytes > 0) this.worker.postMessage({ op: 'bytes', start: this.pendingStart, length: this.pendingBytes });
    this.pendingBytes = 0;
    this.pendingStart = this.produced % this.ringBytes;
  }

  private ask(message: object): Promise<string | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.replies.push({ resolve, reject });
      this.worker.postMessage(message);
    });
  }

  private onAnswer(m: WorkerAnswer): void {
    if (m.op === 'hashed') {
      this.consumed = m.hashed;
      this.wake();
    } else if (m.op === 'done') {
      this.replies.shift()?.resolve(m.hex);
    } else {
      this.fail(new Error(m.message));
    }
  }

  private fail(err: Error): void {
    this.failure ??= new Error(`the download's hashing thread failed: ${err.message}`);
    this.wake();
    for (const reply of this.replies.splice(0)) reply.reject(this.failure);
  }

  private wake(): void {
    const wake = this.wakeRoom;
    this.wakeRoom = undefined;
    wake?.();
  }
}
