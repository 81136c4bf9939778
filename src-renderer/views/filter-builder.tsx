import { useEffect, useState } from 'react';
import { CONDITION_OPS, type AttributeCondition, type AttributeQuery, type ConditionOp, type QueryPreview } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { plural } from './device-list';

// Rows of "attribute, operator, value" that every device must match: the
// filter of a dynamic group. The hub counts the matching devices as the
// rows change (debounced), so the operator sees what the filter reaches.

const OP_LABELS: Record<ConditionOp, string> = {
  eq: 'equals',
  ne: 'does not equal',
  in: 'is one of',
  'not-in': 'is none of',
  lt: 'less than',
  le: 'at most',
  gt: 'greater than',
  ge: 'at least',
  exists: 'exists',
  'not-exists': 'does not exist',
  regex: 'matches regex',
};
const NO_VALUE: readonly ConditionOp[] = ['exists', 'not-exists'];
const LIST: readonly ConditionOp[] = ['in', 'not-in'];
/** Suggestions only: any identity or inventory attribute works. */
const COMMON_ATTRIBUTES = ['id', 'device_type', 'artifact.fleetos.version', 'artifact.fleetos.name', 'rootfs.active', 'os.pretty_name', 'hostname'];
const PREVIEW_DELAY_MS = 300;

/** One editable row; `value` holds a comma-separated list for in / not-in. */
export interface ConditionRow {
  attribute: string;
  op: ConditionOp;
  value: string;
}

export const emptyCondition = (): ConditionRow => ({ attribute: '', op: 'eq', value: '' });

/** The rows as the hub's query; rows without an attribute are left out. */
export function toQuery(rows: ConditionRow[]): AttributeQuery {
  return {
    conditions: rows
      .filter((r) => r.attribute.trim())
      .map((r): AttributeCondition => {
        if (LIST.includes(r.op)) return { attribute: r.attribute.trim(), op: r.op, values: r.value.split(',').map((v) => v.trim()).filter(Boolean) };
        return { attribute: r.attribute.trim(), op: r.op, value: NO_VALUE.includes(r.op) ? '' : r.value };
      }),
  };
}

export function fromQuery(query: AttributeQuery): ConditionRow[] {
  return query.conditions.map((c) => ({ attribute: c.attribute, op: c.op, value: LIST.includes(c.op) ? (c.values ?? []).join(', ') : (c.value ?? '') }));
}

export function describeCondition(c: AttributeCondition): string {
  const value = LIST.includes(c.op) ? (c.values ?? []).join(', ') : NO_VALUE.includes(c.op) ? '' : ` “${c.value ?? ''}”`;
  return `${c.attribute} ${OP_LABELS[c.op] ?? c.op}${LIST.includes(c.op) ? ` ${value}` : value}`;
}

interface Props {
  /** labels the rows: "Filter" in the wizard, "Device filter" in the device list */
  label: string;
  rows: ConditionRow[];
  onChange: (rows: ConditionRow[]) => void;
  disabled?: boolean;
}

export function FilterBuilder({ label, rows, onChange, disabled }: Props) {
  const set = (i: number, change: Partial<ConditionRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  const listId = `${label.replace(/\W+/g, '-').toLowerCase()}-attributes`;
  return (
    <fieldset className="filter-builder" aria-label={label} disabled={disabled}>
      <legend>{label}</legend>
      <datalist id={listId}>
        {COMMON_ATTRIBUTES.map((a) => (
          <option key={a} value={a} />
        ))}
      </datalist>
      {rows.map((r, i) => (
        <div className="filter-row" key={i} role="group" aria-label={`Condition ${i + 1}`}>
          <input aria-label={`Attribute of condition ${i + 1}`} placeholder="attribute, e.g. device_type" list={listId} value={r.attribute} onChange={(e) => set(i, { attribute: e.target.value })} />
          <select aria-label={`Operator of condition ${i + 1}`} value={r.op} onChange={(e) => set(i, { op: e.target.value as ConditionOp })}>
            {CONDITION_OPS.map((op) => (
              <option key={op} value={op}>
                {OP_LABELS[op]}
              </option>
            ))}
          </select>
          {!NO_VALUE.includes(r.op) && (
            <input
              aria-label={`Value of condition ${i + 1}`}
              placeholder={LIST.includes(r.op) ? 'values, comma separated' : 'value'}
              value={r.value}
              onChange={(e) => set(i, { value: e.target.value })}
            />
          )}
          <button type="button" aria-label={`Remove condition ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, emptyCondition()])}>
        Add condition
      </button>
    </fieldset>
  );
}

type Preview = { state: 'idle' } | { state: 'counting' } | { state: 'ready'; preview: QueryPreview } | { state: 'error'; message: string };

/** Asks the hub how many accepted devices match, again whenever the query changes. */
export function usePreview(query: AttributeQuery | null): Preview {
  const [answer, setAnswer] = useState<{ key: string; preview: Preview } | null>(null);
  const key = query ? JSON.stringify(query) : '';
  useEffect(() => {
    if (!key) return;
    let stale = false;
    const timer = setTimeout(() => {
      fleet.groups.preview(JSON.parse(key) as AttributeQuery).then(
        (res) => !stale && setAnswer({ key, preview: { state: 'ready', preview: res } }),
        (err: Error) => !stale && setAnswer({ key, preview: { state: 'error', message: err.message } }),
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [key]);
  if (!key) return { state: 'idle' };
  if (answer?.key === key) return answer.preview;
  return { state: 'counting' };
}

/** "12 devices match: a, b, c, …" (a live region). */
export function PreviewCount({ preview }: { preview: Preview }) {
  return (
    <p role="status" className="preview-count" data-testid="preview-count">
      {preview.state === 'counting' && 'Counting matching devices…'}
      {preview.state === 'error' && <span className="error-text">Could not count matching devices: {preview.message}</span>}
      {preview.state === 'ready' && (
        <>
          <strong>{plural(preview.preview.matching, 'device')}</strong> {preview.preview.matching === 1 ? 'matches' : 'match'} now
          {preview.preview.sample.length > 0 && (
            <span className="muted">
              : {preview.preview.sample.slice(0, 5).join(', ')}
              {preview.preview.matching > 5 && ', …'}
            </span>
          )}
        </>
      )}
    </p>
  );
}
