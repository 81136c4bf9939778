// zstd through the `zstd` program (Debian package `zstd`). Node 20's zlib has
// no zstd, and no pure JS/WASM package both compresses and decompresses as a
// stream; a child process streams both ways at native speed.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import { ArtifactError } from './errors';

export const ZSTD_PROGRAM = process.env.FLEET_ZSTD ?? 'zstd';

function unavailable(detail: string): ArtifactError {
  return new ArtifactError('zstd-unavailable', `zstd payloads need the zstd program (${detail}); install it (Debian: apt-get install zstd) or use gzip compression`);
}

/** A Duplex: bytes written go to zstd's stdin, zstd's stdout is readable. */
class ZstdProcess extends Duplex {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderr = '';
  private exited: Promise<number | null>;

  constructor(args: string[]) {
    super();
    this.child = spawn(ZSTD_PROGRAM, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code) => resolve(code));
      this.child.once('error', (err: NodeJS.ErrnoException) => {
        this.destroy(err.code === 'ENOENT' ? unavailable(`'${ZSTD_PROGRAM}' not found`) : unavailable(err.message));
        resolve(null);
      });
    });
    // zstd stops reading when its input is corrupt; the write error (EPIPE)
    // is expected then, and the exit status tells what happened.
    this.child.stdin.on('error', () => {});
    this.child.stderr.on('data', (d: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += d.toString();
    });
    this.child.stdout.on('data', (d: Buffer) => {
      if (!this.push(d)) this.child.stdout.pause();
    });
    this.child.stdout.once('end', () => {
      void this.exited.then((code) => {
        if (code === 0) this.push(null);
        else if (code !== null) this.destroy(new Error(`zstd exited with status ${code}: ${this.stderr.trim() || 'no message'}`));
      });
    });
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.child.stdin.destroyed) return callback();
    if (this.child.stdin.write(chunk)) callback();
    else {
      const done = (): void => {
        this.child.stdin.off('drain', done).off('close', done);
        callback();
      };
      this.child.stdin.on('drain', done).on('close', done);
    }
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.child.stdin.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    callback(err);
  }
}

export function zstdCompressStream(level = 3): Duplex {
  return new ZstdProcess(['-q', '-c', `-${level}`, '-T0']);
}

export function zstdDecompressStream(): Duplex {
  return new ZstdProcess(['-q', '-d', '-c']);
}
