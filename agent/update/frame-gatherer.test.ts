import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { gatherFrames } from './frame-gatherer';

const sizes = (group: Buffer[]): number => group.reduce((n, b) => n + b.length, 0);

describe('gatherFrames', () => {
  it('hands on the buffers as they came, in groups of at least minBytes, the last group excepted', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(100 + i, i));
    const groups: Buffer[][] = [];
    for await (const group of gatherFrames(Readable.from(parts, { objectMode: false }), 1000, 10_000)) groups.push(group);
    expect(groups.flat()).toEqual(parts);
    for (const group of groups.slice(0, -1)) expect(sizes(group)).toBeGreaterThanOrEqual(1000);
    expect(groups.flat().every((b, i) => b === parts[i])).toBe(true); // no copies
  });

  it('pauses the source while maxHeld bytes wait, and resumes when they are taken', async () => {
    const source = new PassThrough();
    const it = gatherFrames(source, 10, 100)[Symbol.asyncIterator]();
    const first = it.next();
    source.write(Buffer.alloc(150));
    await first;
    expect(source.isPaused()).toBe(false);
    source.write(Buffer.alloc(150));
    await new Promise((r) => setImmediate(r));
    expect(source.isPaused()).toBe(true);
    expect(sizes((await it.next()).value as Buffer[])).toBe(150);
    expect(source.isPaused()).toBe(false);
    source.end();
    expect((await it.next()).done).toBe(true);
  });

  it('yields what arrived before a failure, then throws it; a close without end just ends', async () => {
    const failing = new PassThrough();
    const got: Buffer[][] = [];
    const run = (async () => {
      for await (const group of gatherFrames(failing, 1000, 10_000)) got.push(group);
    })();
    failing.write(Buffer.alloc(10));
    await new Promise((r) => setImmediate(r));
    failing.destroy(new Error('cut'));
    await expect(run).rejects.toThrow('cut');
    expect(got.map(sizes)).toEqual([10]);

    const closing = new PassThrough();
    const out: Buffer[][] = [];
    const run2 = (async () => {
      for await (const group of gatherFrames(closing, 1000, 10_000)) out.push(group);
    })();
    closing.write(Buffer.alloc(5));
    await new Promise((r) => setImmediate(r));
    closing.destroy();
    await run2;
    expect(out.map(sizes)).toEqual([5]);
  });
});
