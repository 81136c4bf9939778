import { describe, expect, it } from 'vitest';
import { inventoryPatch, normalizeInventory } from './inventory-patch';

describe('inventoryPatch', () => {
  it('holds changed and added keys, and removed keys as empty values', () => {
    const prev = { a: '1', b: '2', c: '3' };
    const next = { a: '1', b: '20', d: '4' };
    expect(inventoryPatch(prev, next)).toEqual({ b: '20', c: '', d: '4' });
  });

  it('is empty when nothing changed', () => {
    expect(inventoryPatch({ a: '1' }, { a: '1' })).toEqual({});
    expect(inventoryPatch({}, {})).toEqual({});
  });

  it('treats a value that became empty as a deletion', () => {
    expect(inventoryPatch({ a: '1' }, { a: '' })).toEqual({ a: '' });
  });

  it('normalizeInventory drops empty values', () => {
    expect(normalizeInventory({ a: '1', b: '' })).toEqual({ a: '1' });
  });
});
