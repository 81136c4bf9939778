import { useCallback, useEffect, useId, useState } from 'react';
import type { DynamicGroupRow } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { deviceHref } from '../route';
import { plural } from './device-list';
import { describeCondition, emptyCondition, FilterBuilder, fromQuery, toQuery, usePreview, type ConditionRow } from './filter-builder';
import { GroupWindowsPanel } from './group-windows-panel';

// The device list's filter builder: conditions on any identity or inventory
// attribute, the hub's live count of accepted devices matching them, and
// "Save as dynamic group" (a deployment target that grows as devices come to
// match). Saved groups are listed below, to load into the builder again,
// replace or delete; then the maintenance windows of static and dynamic groups.

type Notice = { kind: 'ok' | 'error'; text: string } | null;
type Saved = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; rows: DynamicGroupRow[] };

export function DynamicGroupPanel() {
  const titleId = useId();
  const [rows, setRows] = useState<ConditionRow[]>([emptyCondition()]);
  const [name, setName] = useState('');
  const [saved, setSaved] = useState<Saved>({ state: 'loading' });
  const [notice, setNotice] = useState<Notice>(null);
  const [busy, setBusy] = useState(false);
  const query = toQuery(rows);
  const preview = usePreview(query.conditions.length ? query : null);
  const exists = saved.state === 'ready' && saved.rows.some((g) => g.name === name.trim());

  const reload = useCallback(
    () =>
      fleet.groups.listDynamic().then(
        (list) => setSaved({ state: 'ready', rows: list }),
        (err: Error) => setSaved({ state: 'error', message: `Could not list dynamic groups: ${err.message}` }),
      ),
    [],
  );
  useEffect(() => {
    void reload();
  }, [reload]);

  async function act(label: string, action: () => Promise<DynamicGroupRow>, done: (g: DynamicGroupRow) => string): Promise<void> {
    setBusy(true);
    try {
      setNotice({ kind: 'ok', text: done(await action()) });
      await reload();
    } catch (err) {
      setNotice({ kind: 'error', text: `${label} failed: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  }

  const save = () =>
    act('Saving the dynamic group', () => fleet.groups.createDynamic(name.trim(), query, exists), (g) => `Dynamic group “${g.name}” saved: ${plural(g.matching, 'device')} match now.`);

  return (
    <>
      <section className="device-filter-panel" aria-labelledby={titleId}>
        <h2 id={titleId}>Filter builder</h2>
        <FilterBuilder label="Device filter" rows={rows} onChange={setRows} disabled={busy} />
        {preview.state !== 'idle' && <MatchingDevices preview={preview} />}
        <div className="inline-fields">
          <label className="field">
            Dynamic group name
            <input value={name} placeholder="letters, digits, . _ -" disabled={busy} onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="button" className="primary" disabled={busy || !name.trim() || query.conditions.length === 0} onClick={() => void save()}>
            {exists ? 'Replace dynamic group' : 'Save as dynamic group'}
          </button>
        </div>
        {notice && (
          <p role={notice.kind === 'error' ? 'alert' : 'status'} className={`notice ${notice.kind}`}>
            {notice.text}
          </p>
        )}
        {saved.state === 'error' && (
          <p role="alert" className="notice error">
            {saved.message}
          </p>
        )}
        {saved.state === 'ready' && saved.rows.length > 0 && (
          <table className="data-table" aria-label="Dynamic groups">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Filter</th>
                <th scope="col">Matching</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {saved.rows.map((g) => (
                <tr key={g.name} data-testid="dynamic-group-row" data-name={g.name}>
                  <td>{g.name}</td>
                  <td>{g.query.conditions.map(describeCondition).join(' and ') || 'every accepted device'}</td>
                  <td>{g.matching.toLocaleString('en-US')}</td>
                  <td>
                    <button
                      type="button"
                      aria-label={`Edit ${g.name}`}
                      disabled={busy}
                      onClick={() => {
                        setRows(g.query.conditions.length ? fromQuery(g.query) : [emptyCondition()]);
                        setName(g.name);
                      }}
                    >
                      Edit
                    </button>{' '}
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Delete ${g.name}`}
                      disabled={busy}
                      onClick={() => void act('Deleting the dynamic group', () => fleet.groups.deleteDynamic(g.name), (d) => `Dynamic group “${d.name}” deleted.`)}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <GroupWindowsPanel dynamicGroups={saved.state === 'ready' ? saved.rows : []} />
    </>
  );
}

function MatchingDevices({ preview }: { preview: ReturnType<typeof usePreview> }) {
  return (
    <div>
      <PreviewLine preview={preview} />
      {preview.state === 'ready' && preview.preview.sample.length > 0 && (
        <ul className="chips" aria-label="Matching devices">
          {preview.preview.sample.map((id) => (
            <li key={id}>
              <a href={deviceHref(id)}>{id}</a>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function PreviewLine({ preview }: { preview: ReturnType<typeof usePreview> }) {
  return (
    <p role="status" data-testid="filter-count">
      {preview.state === 'counting' && 'Counting matching devices…'}
      {preview.state === 'error' && <span className="error-text">Could not count matching devices: {preview.message}</span>}
      {preview.state === 'ready' && `${plural(preview.preview.matching, 'accepted device')} ${preview.preview.matching === 1 ? 'matches' : 'match'}${preview.preview.matching > preview.preview.sample.length ? ` (showing ${preview.preview.sample.length})` : ''}`}
    </p>
  );
}
