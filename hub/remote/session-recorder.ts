import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

export interface RecorderOptions {
  /** Where the asciicast goes (created; must not exist). */
  path: string;
  cols: number;
  rows: number;
  /** Unix ms of the session start (header timestamp). */
  startedMs: number;
  /** The file stops growing at this size; the recording is then marked truncated. */
  maxBytes: number;
  /** Bytes that may wait for the disk; past this (a stalled disk) the recording stops, truncated. */
  maxQueuedBytes: number;
  /** A command session's command line (header `command`). */
  command?: string;
  log?: (line: string) => void;
  /** Tests pass a sink of their own (a disk that never finishes a write). */
  sink?: Writable;
}

export interface RecordingResult {
  /** Bytes of the file (all accepted lines). */
  bytes: number;
  truncated: boolean;
}

// Records one shell session as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/):
// a header line, then `[seconds, "o", text]` for the device's output and
// `[seconds, "r", "COLSxROWS"]` for resizes. Output is decoded with a
// streaming UTF-8 decoder per stream, so a character cut between two frames
// is kept whole. The relay never waits for the disk: lines are handed to a
// write stream and, when more than `maxQueuedBytes` are waiting (or the cap
// is reached), recording stops and the file is marked truncated.
//
// Lines are gathered for up to FLUSH_MS (or FLUSH_BYTES) and written
// together: a write per keystroke's echo meant a thread-pool round trip
// (worker wake-up, then the event loop woken again) in the hub for every
// key, on the same cores as the relay it was recording. A crash loses at
// most the last FLUSH_MS of a recording.
const FLUSH_MS = 250;
const FLUSH_BYTES = 64 * 1024;

export class SessionRecorder {
  private readonly sink: Writable;
  private readonly t0 = performance.now();
  private readonly decoders = { data: new TextDecoder('utf-8'), stderr: new TextDecoder('utf-8') };
  private accepted = 0;
  private truncated = false;
  private stopped = false;
  private failed = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RecorderOptions) {
    this.sink = opts.sink ?? createWriteStream(opts.path, { flags: 'wx', mode: 0o600 });
    this.sink.on('error', (err) => {
      if (!this.failed) opts.log?.(`recording ${opts.path} failed, recording stopped: ${err.message}`);
      this.failed = true;
      this.stop();
    });
    const header: Record<string, unknown> = {
      version: 2,
      width: opts.cols,
      height: opts.rows,
      timestamp: Math.floor(opts.startedMs / 1000),
      env: { TERM: 'xterm-256color' },
    };
    if (opts.command !== undefined) header.command = opts.command;
    this.line(JSON.stringify(header));
  }

  /** Device output (a shell's pty, or a command's stdout/stderr). */
  output(bytes: Uint8Array, stream: 'data' | 'stderr' = 'data'): void {
    if (this.stopped) return;
    const text = this.decoders[stream].decode(bytes, { stream: true });
    if (text) this.event('o', text);
  }

  resize(cols: number, rows: number): void {
    if (this.stopped) return;
    this.event('r', `${cols}x${rows}`);
  }

  /** Flushes the decoders and closes the file, waiting for the disk at most `flushWaitMs`. */
  async finish(flushWaitMs = 2000): Promise<RecordingResult> {
    if (!this.stopped) {
      for (const decoder of Object.values(this.decoders)) {
        const rest = decoder.decode();
        if (rest) this.event('o', rest);
      }
    }
    this.stop();
    if (!this.failed && !this.sink.writableFinished) {
      await new Promise<void>((resolve) => {
        // A stalled disk must not hold the session's bookkeeping: the size is known already.
        const timer = setTimeout(resolve, flushWaitMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        this.sink.once('finish', done);
        this.sink.once('error', done);
        this.sink.once('close', done);
      });
    }
    return { bytes: this.accepted, truncated: this.truncated || this.failed };
  }

  private event(code: 'o' | 'r', data: string): void {
    const seconds = Math.round(performance.now() - this.t0) / 1000;
    this.line(JSON.stringify([seconds, code, data]));
  }

  private line(json: string): void {
    if (this.stopped) return;
    const chunk = Buffer.from(`${json}\n`, 'utf8');
    if (this.accepted + chunk.length > this.opts.maxBytes || this.sink.writableLength + this.pendingBytes + chunk.length > this.opts.maxQueuedBytes) {
      this.truncated = true;
      this.stop();
      return;
    }
    this.accepted += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pendingBytes === 0 || this.failed || this.sink.writableEnded) return;
    this.sink.write(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }

  private stop(): void {
    if (this.stopped) return;
    this.flush();
    this.stopped = true;
    if (!this.sink.writableEnded) this.sink.end();
  }
}
