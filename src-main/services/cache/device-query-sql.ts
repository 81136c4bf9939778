import type { AdmissionStatus, DeviceQuery, DeviceSortKey } from '../../common/console-api';

// Turns a DeviceQuery (which arrives from the renderer, so is untrusted) into
// SQL. Column names come only from this whitelist; values are bound.

const SORT_COLUMNS: Record<DeviceSortKey, string> = {
  id: 'id',
  status: 'status',
  online: 'online',
  deviceType: 'device_type',
  os: 'os',
  lastSeenMs: 'last_seen_ms',
};
const STATUSES: readonly AdmissionStatus[] = ['pending', 'accepted', 'rejected'];
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 5000;
const MAX_TEXT = 200;

export interface DeviceQuerySql {
  where: string;
  /**
   * The same filter for counting. With a text filter every row must be read
   * anyway, and one sequential scan beats walking the status index with a
   * table lookup per entry (`+status` keeps SQLite off that index).
   */
  countWhere: string;
  params: unknown[];
  orderBy: string;
  limit: number;
  offset: number;
}

export function deviceQuerySql(query: DeviceQuery | undefined): DeviceQuerySql {
  const q = query ?? {};
  if (typeof q !== 'object') throw new Error('device query must be an object');
  const params: unknown[] = [];
  let statusClause = '';
  let textClause = '';
  if (q.status !== undefined) {
    if (!STATUSES.includes(q.status)) throw new Error(`device query: status must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(q.status)}`);
    statusClause = 'status = ?';
    params.push(q.status);
  }
  if (q.text !== undefined && q.text !== null) {
    if (typeof q.text !== 'string') throw new Error('device query: text must be a string');
    if (q.text.length > MAX_TEXT) throw new Error(`device query: text is longer than ${MAX_TEXT} characters`);
    const text = q.text.trim().toLowerCase();
    if (text) {
      textClause = "search LIKE ? ESCAPE '\\'";
      params.push(`%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
  }
  const sort = q.sort ?? 'id';
  if (!Object.hasOwn(SORT_COLUMNS, sort)) throw new Error(`device query: sort must be one of ${Object.keys(SORT_COLUMNS).join(', ')}, got ${JSON.stringify(sort)}`);
  const dir = q.descending ? 'DESC' : 'ASC';
  const column = SORT_COLUMNS[sort];
  // id breaks ties so paging through equal values is stable.
  const orderBy = column === 'id' ? `id ${dir}` : `${column} ${dir}, id ${dir}`;
  const where = (status: string) => {
    const clauses = [status, textClause].filter(Boolean);
    return clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
  };
  return {
    where: where(statusClause),
    countWhere: where(statusClause && textClause ? `+${statusClause}` : statusClause),
    params,
    orderBy,
    limit: intIn('limit', q.limit ?? DEFAULT_PAGE_SIZE, 0, MAX_PAGE_SIZE),
    offset: intIn('offset', q.offset ?? 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

function intIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`device query: ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}
