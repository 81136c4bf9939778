import type { AttributeCondition } from '../proto/gen/fleet/v1/console';
import { UsageError } from './cli-error';

// `--where` conditions of dynamic groups, written the way people say them,
// as the hub's AttributeCondition (docs/rollouts.md, "Dynamic groups"):
//
//   attr=value  attr!=value  attr<v  attr<=v  attr>v  attr>=v  attr~regex
//   attr in a,b  attr not in a,b  attr exists  attr not exists

const WORD_FORM = /^([^\s=!<>~]+)\s+(not\s+)?(exists|in)(?:\s+(.*))?$/;
const SYMBOL_FORM = /^([^\s=!<>~]+)\s*(!=|>=|<=|==|=|>|<|~)(.*)$/;
const SYMBOL_OPS: Readonly<Record<string, string>> = { '=': 'eq', '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '~': 'regex' };
const SYNTAX = "write attr=value, attr!=value, attr<v, attr<=v, attr>v, attr>=v, attr~regex, 'attr in a,b', 'attr not in a,b', 'attr exists' or 'attr not exists'";

export function parseWhere(text: string): AttributeCondition {
  const t = text.trim();
  const word = WORD_FORM.exec(t);
  if (word) {
    const [, attribute, not, op, rest] = word;
    if (op === 'exists') {
      if (rest !== undefined) throw new UsageError(`--where "${text}": nothing may follow "exists"`);
      return { attribute, op: not ? 'not-exists' : 'exists', value: '', values: [] };
    }
    const values = (rest ?? '').split(',').map((v) => v.trim()).filter(Boolean);
    if (!values.length) throw new UsageError(`--where "${text}": "${not ? 'not in' : 'in'}" needs values separated by commas, e.g. '${attribute} in a,b'`);
    return { attribute, op: not ? 'not-in' : 'in', value: '', values };
  }
  const symbol = SYMBOL_FORM.exec(t);
  if (!symbol) throw new UsageError(`--where "${text}" is not a condition: ${SYNTAX}`);
  const [, attribute, sign, raw] = symbol;
  const op = SYMBOL_OPS[sign];
  const value = raw.trim();
  if (op === 'regex') {
    try {
      new RegExp(value);
    } catch (err) {
      throw new UsageError(`--where "${text}": the regular expression is not valid: ${(err as Error).message}`);
    }
  }
  if (op !== 'eq' && op !== 'ne' && !value) throw new UsageError(`--where "${text}": "${sign}" needs a value after it`);
  return { attribute, op, value, values: [] };
}

/** A condition back in --where syntax, for `groups show|list`. */
export function conditionText(c: AttributeCondition): string {
  switch (c.op) {
    case 'exists':
      return `${c.attribute} exists`;
    case 'not-exists':
      return `${c.attribute} not exists`;
    case 'in':
      return `${c.attribute} in ${c.values.join(',')}`;
    case 'not-in':
      return `${c.attribute} not in ${c.values.join(',')}`;
    default: {
      const sign = Object.entries(SYMBOL_OPS).find(([s, op]) => op === c.op && s !== '==')?.[0];
      return sign ? `${c.attribute}${sign}${c.value}` : `${c.attribute} ${c.op} ${c.value}`;
    }
  }
}
