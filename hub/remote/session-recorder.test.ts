import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { asciinemaCat } from '../testing/asciinema';
import { makeTempDir } from '../testing/test-hub';
import { SessionRecorder, type RecorderOptions } from './session-recorder';

const dir = makeTempDir('fleet-recorder-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function recorder(overrides: Partial<RecorderOptions> = {}): { rec: SessionRecorder; path: string } {
  const path = join(dir, `${++n}.cast`);
  const rec = new SessionRecorder({ path, cols: 100, rows: 30, startedMs: Date.UTC(2026, 10, 27, 12), maxBytes: 1 << 20, maxQueuedBytes: 1 << 20, ...overrides });
  return { rec, path };
}

const lines = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));

describe('asciicast v2 recording', () => {
  it('writes the header, output with characters cut between frames kept whole, and resizes; asciinema cat plays it back', async () => {
    const { rec, path } = recorder();
    const text = 'héllo → wörld ✓ 🚀\r\n\x1b[1mbold\x1b[0m\r\n';
    const bytes = Buffer.from(text, 'utf8');
    // Cut inside 'é' (2 bytes), '→' (3 bytes) and '🚀' (4 bytes).
    const cuts = [2, 9, bytes.indexOf(Buffer.from('🚀')) + 2, bytes.length];
    let at = 0;
    for (const cut of cuts) {
      rec.output(bytes.subarray(at, cut));
      at = cut;
    }
    rec.resize(120, 40);
    rec.output(Buffer.from('after resize\r\n'));
    rec.output(Buffer.from('to stderr\n'), 'stderr');
    const result = await rec.finish();

    const [header, ...events] = lines(path);
    expect(header).toEqual({ version: 2, width: 100, height: 30, timestamp: Math.floor(Date.UTC(2026, 10, 27, 12) / 1000), env: { TERM: 'xterm-256color' } });
    const output = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(output).toBe(`${text}after resize\r\nto stderr\n`);
    expect(output).not.toContain('\ufffd');
    expect(events.find((e) => e[1] === 'r')).toEqual([expect.any(Number), 'r', '120x40']);
    expect(events.every((e, i) => typeof e[0] === 'number' && (i === 0 || e[0] >= events[i - 1][0]))).toBe(true);
    expect(result).toEqual({ bytes: statSync(path).size, truncated: false });

    expect(asciinemaCat(path)).toBe(`${text}after resize\r\nto stderr\n`);
  });

  it('writes gathered lines within the flush interval, without waiting for the end', async () => {
    const { rec, path } = recorder();
    rec.output(Buffer.from('typed\r\n'));
    await new Promise((r) => setTimeout(r, 500));
    expect(lines(path).slice(1)).toEqual([[expect.any(Number), 'o', 'typed\r\n']]);
    await rec.finish();
  });

  it('names the command of a command session in the header', async () => {
    const { rec, path } = recorder({ command: 'uname -a' });
    await rec.finish();
    expect(lines(path)[0].command).toBe('uname -a');
  });

  it('stops at the size cap and says truncated', async () => {
    const { rec, path } = recorder({ maxBytes: 4096 });
    for (let i = 0; i < 100; i++) rec.output(Buffer.from(`line ${i} ${'x'.repeat(80)}\r\n`));
    const result = await rec.finish();
    expect(result.truncated).toBe(true);
    expect(result.bytes).toBe(statSync(path).size);
    expect(result.bytes).toBeLessThanOrEqual(4096);
    expect(result.bytes).toBeGreaterThan(3000);
    // Still a valid cast: every line parses, and asciinema plays what is there.
    expect(lines(path).length).toBeGreaterThan(10);
    expect(asciinemaCat(path)).toMatch(/^line 0 x+\r\nline 1 /);
  });

  it('never waits for a stalled disk: past the queue limit it stops and marks the recording truncated', async () => {
    let stalled = 0;
    const sink = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, _callback) {
        // A disk that never completes a write.
        stalled += chunk.length;
      },
    });
    const { rec } = recorder({ sink, maxQueuedBytes: 256 * 1024 });
    const chunk = Buffer.alloc(16 * 1024, 'a');
    for (let i = 0; i < 1000; i++) rec.output(chunk);
    expect(sink.writableLength).toBeLessThanOrEqual(256 * 1024);
    const began = Date.now();
    const result = await rec.finish(300);
    expect(Date.now() - began).toBeLessThan(2000);
    expect(result.truncated).toBe(true);
    expect(result.bytes).toBeLessThanOrEqual(256 * 1024);
    expect(stalled).toBeLessThanOrEqual(256 * 1024);
  });
});
