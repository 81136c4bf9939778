import { describe, expect, it } from 'vitest';
import { parseOsRelease } from './os-release';

describe('parseOsRelease', () => {
  it('reads double-quoted, single-quoted and bare values', () => {
    const rel = parseOsRelease(['PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"', "NAME='Debian GNU/Linux'", 'VERSION_ID="12"', 'ID=debian', ''].join('\n'));
    expect(rel).toEqual({ PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)', NAME: 'Debian GNU/Linux', VERSION_ID: '12', ID: 'debian' });
  });

  it('handles escapes, comments, blank and malformed lines, CRLF', () => {
    const text = [
      '# a comment',
      '',
      'A="say \\"hi\\" \\\\ \\$HOME \\`x\\`"',
      "B='literal \\n $x'",
      'C=bare\\ word',
      'not a line',
      'D="unterminated',
      '  E=trimmed  ',
      'F="a"\'b\'c',
      'G=',
      'H=value # trailing comment',
    ].join('\r\n');
    expect(parseOsRelease(text)).toEqual({
      A: 'say "hi" \\ $HOME `x`',
      B: 'literal \\n $x',
      C: 'bare word',
      E: 'trimmed',
      F: 'abc',
      G: '',
      H: 'value',
    });
  });

  it('keeps backslashes that escape nothing inside double quotes', () => {
    expect(parseOsRelease('X="a\\qb"')).toEqual({ X: 'a\\qb' });
  });
});
