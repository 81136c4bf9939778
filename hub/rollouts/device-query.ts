import { status } from '@grpc/grpc-js';
import type { AttributeCondition, DeviceQuery } from '../../proto/gen/fleet/v1/console';
import { RpcError } from '../rpc-error';
import type { DeviceRecord } from '../store/store';

// Saved device filters (dynamic groups): every condition must hold. An
// attribute is the device id ("id"), else an identity attribute, else an
// inventory attribute. Compiled once (regexes, number parsing) and then run
// in memory: matching 10,000 devices costs a few milliseconds.

export const QUERY_OPS = ['eq', 'ne', 'in', 'not-in', 'lt', 'le', 'gt', 'ge', 'exists', 'not-exists', 'regex'] as const;
export type QueryOp = (typeof QUERY_OPS)[number];

export interface QueryCondition {
  attribute: string;
  op: QueryOp;
  value: string;
  values: string[];
}

const MAX_CONDITIONS = 50;
const MAX_TEXT = 500;

/** Checks a proto query and returns its stored form; INVALID_ARGUMENT says what to fix. */
export function queryFromProto(query: DeviceQuery | undefined): QueryCondition[] {
  const conditions = query?.conditions ?? [];
  if (!conditions.length) throw new RpcError(status.INVALID_ARGUMENT, 'give at least one condition (attribute, op, value)');
  if (conditions.length > MAX_CONDITIONS) throw new RpcError(status.INVALID_ARGUMENT, `${conditions.length} conditions; at most ${MAX_CONDITIONS}`);
  const out = conditions.map((c, i) => checkCondition(c, i + 1));
  compileQuery(out); // regexes
  return out;
}

function checkCondition(c: AttributeCondition, n: number): QueryCondition {
  const bad = (why: string) => new RpcError(status.INVALID_ARGUMENT, `condition ${n} (${c.attribute || 'no attribute'} ${c.op || 'no op'}): ${why}`);
  const attribute = c.attribute.trim();
  if (!attribute || attribute.length > MAX_TEXT) throw bad('give the attribute name (e.g. device_type or artifact.rootfs.version)');
  if (!(QUERY_OPS as readonly string[]).includes(c.op)) throw bad(`op must be one of ${QUERY_OPS.join(', ')}`);
  const op = c.op as QueryOp;
  if (c.value.length > MAX_TEXT || c.values.some((v) => v.length > MAX_TEXT)) throw bad(`values are at most ${MAX_TEXT} characters`);
  if ((op === 'in' || op === 'not-in') && !c.values.length) throw bad('give the values to look for');
  if (op === 'regex') {
    try {
      new RegExp(c.value);
    } catch (err) {
      throw bad(`not a valid regular expression: ${(err as Error).message}`);
    }
  }
  return { attribute, op, value: c.value, values: [...c.values] };
}

export function queryToProto(conditions: readonly QueryCondition[]): DeviceQuery {
  return { conditions: conditions.map((c) => ({ attribute: c.attribute, op: c.op, value: c.value, values: [...c.values] })) };
}

export type DeviceMatcher = (device: DeviceRecord) => boolean;

/** A matcher for accepted devices. */
export function compileQuery(conditions: readonly QueryCondition[]): DeviceMatcher {
  const tests = conditions.map(compileCondition);
  return (device) => device.status === 'accepted' && tests.every((test) => test(device));
}

function attributeOf(device: DeviceRecord, name: string): string | undefined {
  if (name === 'id') return device.id;
  return Object.hasOwn(device.identity, name) ? device.identity[name] : Object.hasOwn(device.inventory, name) ? device.inventory[name] : undefined;
}

function compileCondition(c: QueryCondition): (device: DeviceRecord) => boolean {
  const get = (d: DeviceRecord) => attributeOf(d, c.attribute);
  switch (c.op) {
    case 'eq':
      return (d) => get(d) === c.value;
    case 'ne':
      return (d) => get(d) !== c.value;
    case 'in': {
      const set = new Set(c.values);
      return (d) => {
        const v = get(d);
        return v !== undefined && set.has(v);
      };
    }
    case 'not-in': {
      const set = new Set(c.values);
      return (d) => {
        const v = get(d);
        return v === undefined || !set.has(v);
      };
    }
    case 'exists':
      return (d) => get(d) !== undefined;
    case 'not-exists':
      return (d) => get(d) === undefined;
    case 'regex': {
      const re = new RegExp(c.value);
      return (d) => {
        const v = get(d);
        return v !== undefined && re.test(v);
      };
    }
    default: {
      const sign = { lt: (n: number) => n < 0, le: (n: number) => n <= 0, gt: (n: number) => n > 0, ge: (n: number) => n >= 0 }[c.op];
      return (d) => {
        const v = get(d);
        return v !== undefined && sign(compareValues(v, c.value));
      };
    }
  }
}

const INTEGER = /^-?\d+$/;

/**
 * Integers as numbers; anything else as dotted versions part by part
 * (numeric parts as numbers): 1.10 > 1.9, 2.0 < 2.0.1.
 */
export function compareValues(a: string, b: string): number {
  if (INTEGER.test(a) && INTEGER.test(b)) return Math.sign(Number(a) - Number(b));
  const pa = a.split(/[.\-+_]/);
  const pb = b.split(/[.\-+_]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const c = !Number.isNaN(nx) && !Number.isNaN(ny) ? Math.sign(nx - ny) : x < y ? -1 : x > y ? 1 : 0;
    if (c) return c;
  }
  return 0;
}
