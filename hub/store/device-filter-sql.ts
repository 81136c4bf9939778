import type { DeviceFilter } from './store';

// Turns a device filter into a SQL condition over the devices table. Identity
// and inventory are JSON objects of strings, searched with json_each so keys
// may contain any character (dots, quotes) without path escaping.
export function deviceFilterSql(filter: DeviceFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.status) {
    clauses.push('status = ?');
    params.push(filter.status);
  }
  for (const [key, value] of Object.entries(filter.attributes ?? {})) {
    // Identity wins: the inventory is looked at only when identity lacks the key.
    clauses.push(
      'COALESCE((SELECT value FROM json_each(devices.identity) WHERE key = ?), (SELECT value FROM json_each(devices.inventory) WHERE key = ?)) = ?',
    );
    params.push(key, key, value);
  }
  const text = filter.text?.trim().toLowerCase();
  if (text) {
    clauses.push(
      '(instr(lower(id), ?) > 0' +
        ' OR EXISTS (SELECT 1 FROM json_each(devices.identity) WHERE instr(lower(value), ?) > 0)' +
        ' OR EXISTS (SELECT 1 FROM json_each(devices.inventory) WHERE instr(lower(value), ?) > 0))',
    );
    params.push(text, text, text);
  }
  return { where: clauses.length ? clauses.join(' AND ') : '1', params };
}
