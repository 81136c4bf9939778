import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { AttributeCondition } from '../../proto/gen/fleet/v1/console';
import { RpcError } from '../rpc-error';
import type { DeviceRecord } from '../store/store';
import { compareValues, compileQuery, queryFromProto } from './device-query';

const device = (id: string, identity: Record<string, string>, inventory: Record<string, string>, accepted = true): DeviceRecord => ({
  id,
  status: accepted ? 'accepted' : 'pending',
  identity,
  inventory,
  publicKey: Buffer.alloc(32),
  online: false,
  lastSeenMs: 0,
  createdMs: 0,
  updatedMs: 0,
  revision: 0,
});
const cond = (attribute: string, op: string, value = '', values: string[] = []): AttributeCondition => ({ attribute, op, value, values });
const ids = (conditions: AttributeCondition[], devices: DeviceRecord[]) => devices.filter(compileQuery(queryFromProto({ conditions }))).map((d) => d.id);

const fleet = [
  device('a', { device_type: 'board-a' }, { 'artifact.os.version': '1.9', 'mem.total_mb': '512', site: 'oslo' }),
  device('b', { device_type: 'board-a' }, { 'artifact.os.version': '1.10', 'mem.total_mb': '2048', site: 'bergen' }),
  device('c', { device_type: 'board-b' }, { 'mem.total_mb': '1024' }),
  device('d', { device_type: 'board-a' }, { site: 'oslo' }, false),
  // Identity wins over inventory.
  device('e', { device_type: 'board-b', site: 'tromso' }, { site: 'oslo' }),
];

describe('device queries', () => {
  it('matches accepted devices on identity, inventory or id with every operator', () => {
    expect(ids([cond('device_type', 'eq', 'board-a')], fleet)).toEqual(['a', 'b']);
    expect(ids([cond('site', 'ne', 'oslo')], fleet)).toEqual(['b', 'c', 'e']);
    expect(ids([cond('site', 'in', '', ['oslo', 'tromso'])], fleet)).toEqual(['a', 'e']);
    expect(ids([cond('site', 'not-in', '', ['oslo'])], fleet)).toEqual(['b', 'c', 'e']);
    expect(ids([cond('mem.total_mb', 'ge', '1024')], fleet)).toEqual(['b', 'c']);
    expect(ids([cond('mem.total_mb', 'lt', '1024')], fleet)).toEqual(['a']);
    expect(ids([cond('artifact.os.version', 'gt', '1.9')], fleet)).toEqual(['b']);
    expect(ids([cond('artifact.os.version', 'le', '1.9')], fleet)).toEqual(['a']);
    expect(ids([cond('artifact.os.version', 'exists')], fleet)).toEqual(['a', 'b']);
    expect(ids([cond('artifact.os.version', 'not-exists')], fleet)).toEqual(['c', 'e']);
    expect(ids([cond('site', 'regex', '^(os|be)')], fleet)).toEqual(['a', 'b']);
    expect(ids([cond('id', 'in', '', ['c', 'd'])], fleet)).toEqual(['c']);
    expect(ids([cond('device_type', 'eq', 'board-a'), cond('site', 'eq', 'oslo')], fleet)).toEqual(['a']);
  });

  it('compares numbers as numbers and versions part by part', () => {
    expect(compareValues('10', '9')).toBe(1);
    expect(compareValues('1.10', '1.9')).toBe(1);
    expect(compareValues('2.0', '2.0.1')).toBe(-1);
    expect(compareValues('2.0.0', '2.0.0')).toBe(0);
    expect(compareValues('beta', 'alpha')).toBe(1);
  });

  it('refuses bad queries with the condition named', () => {
    const refuse = (conditions: AttributeCondition[], message: RegExp) => {
      try {
        queryFromProto({ conditions });
      } catch (err) {
        expect(err).toBeInstanceOf(RpcError);
        expect((err as RpcError).code).toBe(status.INVALID_ARGUMENT);
        expect((err as RpcError).message).toMatch(message);
        return;
      }
      throw new Error('accepted a bad query');
    };
    refuse([], /at least one condition/);
    refuse([cond('site', 'like', 'x')], /condition 1 \(site like\): op must be one of/);
    refuse([cond('site', 'eq', 'x'), cond('site', 'regex', '(')], /condition 2 .*not a valid regular expression/);
    refuse([cond('site', 'in')], /give the values/);
    refuse([cond(' ', 'eq', 'x')], /give the attribute name/);
  });
});
