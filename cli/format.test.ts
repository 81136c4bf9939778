import { describe, expect, it } from 'vitest';
import { colorWanted, keyValueLines, relativeTime, table } from './format';

describe('table', () => {
  it('aligns columns with two spaces and no trailing blanks', () => {
    const out = table(['ID', 'STATUS', 'OS'], [
      ['dev-1', 'accepted', 'Debian 12'],
      ['device-0002', 'pending', ''],
    ]);
    expect(out).toBe(['ID           STATUS    OS', 'dev-1        accepted  Debian 12', 'device-0002  pending', ''].join('\n'));
  });

  it('colours cells only when asked, after padding so columns stay aligned', () => {
    const rows = [['a', 'yes', 'z']];
    const color = (col: number) => (col === 1 ? ('green' as const) : undefined);
    expect(table(['X', 'ONLINE', 'Y'], rows, { color, useColor: false })).not.toContain('\x1b');
    const coloured = table(['X', 'ONLINE', 'Y'], rows, { color, useColor: true });
    expect(coloured.split('\n')[1]).toBe('a  \x1b[32myes   \x1b[0m  z');
    expect(coloured.split('\n')[0]).toBe('X  ONLINE  Y');
  });
});

describe('colorWanted', () => {
  it('is on for a terminal only, and off with NO_COLOR', () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true);
    expect(colorWanted({ isTTY: false }, {})).toBe(false);
    expect(colorWanted({}, {})).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  });
});

describe('relativeTime', () => {
  const now = 1_700_000_000_000;
  it.each([
    [0, 'never'],
    [now + 5000, 'just now'],
    [now - 400, 'just now'],
    [now - 42_000, '42s ago'],
    [now - 5 * 60_000 - 59_000, '5m ago'],
    [now - 3 * 3_600_000, '3h ago'],
    [now - 47 * 3_600_000, '47h ago'],
    [now - 12 * 86_400_000, '12d ago'],
  ])('%d -> %s', (ms, text) => {
    expect(relativeTime(ms, now)).toBe(text);
  });
});

describe('keyValueLines', () => {
  it('keeps the given order and aligns values', () => {
    expect(keyValueLines({ 'os.id': 'debian', cpu: 'x', empty: '' })).toBe('  os.id  debian\n  cpu    x\n  empty\n');
  });
});
