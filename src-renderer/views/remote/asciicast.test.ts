import { describe, expect, it } from 'vitest';
import { parseCast } from './asciicast';
import { explainRemoteError } from './remote-error';
import { formatDuration, formatEta } from './format-duration';

describe('parseCast', () => {
  it('reads the header and the events; the duration is the last event time', () => {
    const cast = parseCast(['{"version":2,"width":100,"height":30}', '[0.1,"o","$ "]', '[0.5,"r","120x40"]', '[1.25,"o","hi\\r\\n"]', ''].join('\n'));
    expect(cast.header).toMatchObject({ width: 100, height: 30 });
    expect(cast.events).toEqual([
      { time: 0.1, code: 'o', data: '$ ' },
      { time: 0.5, code: 'r', data: '120x40' },
      { time: 1.25, code: 'o', data: 'hi\r\n' },
    ]);
    expect(cast.duration).toBe(1.25);
  });

  it('keeps what it can of a recording cut by the size cap, and refuses what is not asciicast v2', () => {
    expect(parseCast('{"version":2,"width":80,"height":24}\n[0.1,"o","a"]\n[0.2,"o","b').events).toHaveLength(1);
    expect(() => parseCast('{"version":1}')).toThrow(/only v2/);
    expect(() => parseCast('')).toThrow(/empty/);
    expect(() => parseCast('not json')).toThrow(/header/);
  });
});

describe('explainRemoteError', () => {
  it('puts a plain sentence before the device detail, by the code in front of the message', () => {
    expect(explainRemoteError(new Error('outside-roots: /etc is outside the folders'))).toEqual({
      code: 'outside-roots',
      title: 'Refused: the path is outside the folders this device allows.',
      detail: '/etc is outside the folders',
    });
    expect(explainRemoteError({ code: 'forbidden', message: 'viewers may not' }).title).toMatch(/role/);
    expect(explainRemoteError(new Error('hub unreachable — a remote session needs the hub'))).toMatchObject({ code: '', title: 'Failed.', detail: 'hub unreachable — a remote session needs the hub' });
  });
});

describe('formatDuration / formatEta', () => {
  it('formats', () => {
    expect(formatDuration(7_400)).toBe('0:07');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatEta(null)).toBe('—');
    expect(formatEta(12.2)).toBe('13 s');
    expect(formatEta(600)).toBe('10 min');
  });
});
