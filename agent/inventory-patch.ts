// Inventory travels as full reports on connect and as patches after: only the
// keys that changed, with an empty value meaning "deleted" (the protocol's
// rule, so empty values are never reported as real values).

export type Inventory = Record<string, string>;

/** Drops empty values: on the wire an empty value means "delete". */
export function normalizeInventory(inv: Inventory): Inventory {
  const out: Inventory = {};
  for (const [k, v] of Object.entries(inv)) if (v !== '') out[k] = v;
  return out;
}

/** Keys of `next` that differ from `prev`, plus removed keys mapped to ''. */
export function inventoryPatch(prev: Inventory, next: Inventory): Inventory {
  const patch: Inventory = {};
  for (const [k, v] of Object.entries(next)) if (v !== '' && prev[k] !== v) patch[k] = v;
  for (const k of Object.keys(prev)) if (next[k] === undefined || next[k] === '') patch[k] = '';
  return patch;
}
