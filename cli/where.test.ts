import { describe, expect, it } from 'vitest';
import { conditionText, parseWhere } from './where';

describe('parseWhere', () => {
  it('reads every operator, and writes it back the same way', () => {
    const cases: [string, object][] = [
      ['device_type=pi4', { attribute: 'device_type', op: 'eq', value: 'pi4', values: [] }],
      ['site!=oslo', { attribute: 'site', op: 'ne', value: 'oslo', values: [] }],
      ['site in oslo, bergen', { attribute: 'site', op: 'in', value: '', values: ['oslo', 'bergen'] }],
      ['site not in oslo,bergen', { attribute: 'site', op: 'not-in', value: '', values: ['oslo', 'bergen'] }],
      ['artifact.rootfs.version>=1.2', { attribute: 'artifact.rootfs.version', op: 'ge', value: '1.2', values: [] }],
      ['ram<512', { attribute: 'ram', op: 'lt', value: '512', values: [] }],
      ['ram <= 512', { attribute: 'ram', op: 'le', value: '512', values: [] }],
      ['ram>512', { attribute: 'ram', op: 'gt', value: '512', values: [] }],
      ['beta exists', { attribute: 'beta', op: 'exists', value: '', values: [] }],
      ['beta not exists', { attribute: 'beta', op: 'not-exists', value: '', values: [] }],
      ['hostname~^lab-[0-9]+$', { attribute: 'hostname', op: 'regex', value: '^lab-[0-9]+$', values: [] }],
    ];
    for (const [text, condition] of cases) {
      expect(parseWhere(text)).toEqual(condition);
      expect(parseWhere(conditionText(parseWhere(text)))).toEqual(condition);
    }
    expect(conditionText(parseWhere('site in oslo, bergen'))).toBe('site in oslo,bergen');
  });

  it('says what is wrong and how to write it', () => {
    expect(() => parseWhere('device_type')).toThrow(/is not a condition: write attr=value, .* 'attr exists'/);
    expect(() => parseWhere('site in')).toThrow('"in" needs values separated by commas');
    expect(() => parseWhere('ram>=')).toThrow('">=" needs a value after it');
    expect(() => parseWhere('name~(')).toThrow('the regular expression is not valid');
    expect(() => parseWhere('beta exists now')).toThrow('nothing may follow "exists"');
  });
});
