import { describe, expect, it } from 'vitest';
import { CreditGate, encodeCredit, LineReader, MAX_HEADER_BYTES, parseAnswer, parseRequest } from './artifact-wire';

describe('artifact wire', () => {
  it('reads a header line split across reads, keeping what follows it', () => {
    const r = new LineReader();
    expect(r.push(Buffer.from('{"offset":'))).toBeUndefined();
    const got = r.push(Buffer.from('3,"totalSize":9}\nBYTES'));
    expect(got?.line).toBe('{"offset":3,"totalSize":9}');
    expect(got?.rest.toString()).toBe('BYTES');
    expect(parseAnswer(got!.line)).toEqual({ offset: 3, totalSize: 9 });
  });

  it('refuses a header line longer than the limit, and requests without their fields', () => {
    const r = new LineReader();
    expect(() => r.push(Buffer.alloc(MAX_HEADER_BYTES + 1, 65))).toThrow(/longer than/);
    expect(() => parseRequest('{"artifactId":"a","token":"t","offset":"0","window":1}')).toThrow(/offset and window \(integers\)/);
    expect(() => parseRequest('GET / HTTP/1.1')).toThrow(/not JSON/);
    expect(() => parseAnswer('{"offset":1}')).toThrow(/neither offset\/totalSize nor code\/message/);
  });

  it('adds up grants split across reads and waits while there is no credit', async () => {
    const gate = new CreditGate(10);
    expect(await gate.room()).toBe(10);
    gate.take(10);
    let room: number | undefined;
    const waiting = gate.room().then((n) => (room = n));
    const grant = Buffer.concat([encodeCredit(5), encodeCredit(70_000)]);
    gate.push(grant.subarray(0, 2));
    await new Promise((r) => setTimeout(r, 10));
    expect(room).toBeUndefined();
    gate.push(grant.subarray(2, 7));
    await waiting;
    expect(room).toBe(5);
    gate.push(grant.subarray(7));
    expect(await gate.room()).toBe(70_005);
    gate.take(70_005);
    const closed = gate.room();
    gate.close(new Error('gone'));
    await expect(closed).rejects.toThrow('gone');
  });
});
