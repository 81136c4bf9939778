import { describe, expect, it } from 'vitest';
import { allowFlags, keyValues, parseArgs, positiveInt } from './args';
import { EXIT, UsageError } from './cli-error';

const SPEC = { hub: 'string', json: 'boolean', help: 'boolean', filter: 'list', status: 'string' } as const;

describe('parseArgs', () => {
  it('reads flags anywhere on the line, in both value forms', () => {
    const a = parseArgs(['devices', '--hub', 'h:1', 'list', '--status=pending', '--json', '--filter', 'a=1', '--filter=b=2'], SPEC);
    expect(a.positionals).toEqual(['devices', 'list']);
    expect(a.strings.get('hub')).toBe('h:1');
    expect(a.strings.get('status')).toBe('pending');
    expect(a.booleans.has('json')).toBe(true);
    expect(a.lists.get('filter')).toEqual(['a=1', 'b=2']);
  });

  it('treats everything after -- as positionals and -h as --help', () => {
    const a = parseArgs(['-h', 'show', '--', '--json', 'x'], SPEC);
    expect(a.booleans.has('help')).toBe(true);
    expect(a.positionals).toEqual(['show', '--json', 'x']);
  });

  it('keeps empty values given with =', () => {
    expect(parseArgs(['--hub='], SPEC).strings.get('hub')).toBe('');
  });

  it.each([
    [['--nope'], /unknown flag --nope/],
    [['--nope=1'], /unknown flag --nope:/],
    [['--hub'], /--hub needs a value/],
    [['--hub', '--json'], /--hub needs a value/],
    [['--json=yes'], /--json takes no value/],
    [['--hub', 'a', '--hub', 'b'], /--hub given more than once/],
    [['-x'], /unknown flag -x/],
  ])('refuses %j as a usage error', (argv, message) => {
    let caught: unknown;
    try {
      parseArgs(argv, SPEC);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).exitCode).toBe(EXIT.usage);
    expect((caught as Error).message).toMatch(message);
  });
});

describe('allowFlags', () => {
  it('names the flags a command does not take', () => {
    const a = parseArgs(['--json', '--status', 'x', '--filter', 'a=b'], SPEC);
    expect(() => allowFlags(a, ['json'])).toThrow('--status, --filter are not accepted here: see fleetctl --help');
    expect(() => allowFlags(a, ['json', 'status'])).toThrow('--filter is not accepted here');
    expect(() => allowFlags(a, ['json', 'status', 'filter'])).not.toThrow();
  });
});

describe('keyValues and positiveInt', () => {
  it('splits at the first = and lets later keys win', () => {
    expect(keyValues('filter', ['a=1', 'b=x=y', 'a=2', 'c='])).toEqual({ a: '2', b: 'x=y', c: '' });
  });
  it('refuses pairs without a key', () => {
    expect(() => keyValues('identity', ['=v'])).toThrow(/--identity must be KEY=VALUE, got "=v"/);
    expect(() => keyValues('identity', ['novalue'])).toThrow(UsageError);
  });
  it('accepts only positive whole numbers', () => {
    expect(positiveInt('limit', '25')).toBe(25);
    for (const bad of ['0', '-1', '1.5', 'ten', '']) expect(() => positiveInt('limit', bad)).toThrow(/--limit must be a positive whole number/);
  });
});
