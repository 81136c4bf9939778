import { useCallback, useEffect, useId, useState } from 'react';
import type { DynamicGroupRow, GroupRow, GroupWindowRow, MaintenanceWindow } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { describeWindow, toWindow, type WindowRow } from '../format/rollout-plan';
import { useNextWindow } from './wizard-schedule';

// Maintenance windows on groups: a deployment created to a static or
// dynamic group without a window of its own takes the group's (it installs
// and reboots only inside it). Lists every group window with when it opens
// next, and sets, replaces or removes one.

type Notice = { kind: 'ok' | 'error'; text: string } | null;
type Loaded = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; windows: GroupWindowRow[]; groups: GroupRow[] };

/** "static:lab" or "dynamic:boards": one select for both kinds. */
const keyOf = (group: string, dynamic: boolean) => `${dynamic ? 'dynamic' : 'static'}:${group}`;
const fromKey = (key: string) => ({ dynamic: key.startsWith('dynamic:'), group: key.slice(key.indexOf(':') + 1) });

export function GroupWindowsPanel({ dynamicGroups }: { dynamicGroups: DynamicGroupRow[] }) {
  const titleId = useId();
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [target, setTarget] = useState('');
  const [form, setForm] = useState<WindowRow>({ enabled: true, cron: '0 2 * * *', hours: '2', timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || '' });
  const [notice, setNotice] = useState<Notice>(null);
  const [busy, setBusy] = useState(false);
  const next = useNextWindow(form);

  const reload = useCallback(
    () =>
      Promise.all([fleet.groups.windows(), fleet.groups.list()]).then(
        ([windows, groups]) => setLoaded({ state: 'ready', windows, groups }),
        (err: Error) => setLoaded({ state: 'error', message: `Could not list group windows: ${err.message}` }),
      ),
    [],
  );
  useEffect(() => {
    void reload();
  }, [reload]);

  const choices = loaded.state === 'ready' ? [...loaded.groups.map((g) => keyOf(g.name, false)), ...dynamicGroups.map((g) => keyOf(g.name, true))] : [];
  const chosen = choices.includes(target) ? target : (choices[0] ?? '');
  const parsed = toWindow(form);

  async function change(key: string, window: MaintenanceWindow | null): Promise<void> {
    const { group, dynamic } = fromKey(key);
    setBusy(true);
    try {
      const windows = await fleet.groups.setWindow(group, dynamic, window);
      setLoaded((l) => (l.state === 'ready' ? { ...l, windows } : l));
      setNotice({ kind: 'ok', text: window ? `Window of ${dynamic ? 'dynamic' : 'static'} group “${group}” set: ${describeWindow(window)}.` : `Window of ${dynamic ? 'dynamic' : 'static'} group “${group}” removed.` });
    } catch (err) {
      setNotice({ kind: 'error', text: `${window ? 'Setting' : 'Removing'} the window of “${group}” failed: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="group-windows-panel" aria-labelledby={titleId}>
      <h2 id={titleId}>Group maintenance windows</h2>
      <p className="muted">A deployment to a group without a window of its own installs and reboots only inside the group's window (downloads happen any time).</p>
      {loaded.state === 'loading' && <p className="muted">Loading groups…</p>}
      {loaded.state === 'error' && (
        <p role="alert" className="notice error">
          {loaded.message}
        </p>
      )}
      {loaded.state === 'ready' && (
        <>
          {loaded.windows.length > 0 ? (
            <table className="data-table" aria-label="Group windows">
              <thead>
                <tr>
                  <th scope="col">Group</th>
                  <th scope="col">Window</th>
                  <th scope="col">Next opening</th>
                  <th scope="col">Set by</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {loaded.windows.map((w) => (
                  <tr key={keyOf(w.group, w.dynamic)} data-testid="group-window-row" data-group={w.group} data-dynamic={w.dynamic}>
                    <td>
                      {w.group} <span className="muted">({w.dynamic ? 'dynamic' : 'static'})</span>
                    </td>
                    <td>{describeWindow(w.window)}</td>
                    <td data-testid="group-window-next">
                      <NextOpening window={w.window} />
                    </td>
                    <td>
                      {w.setBy} <span className="muted">{new Date(w.setMs).toLocaleString()}</span>
                    </td>
                    <td>
                      <button
                        type="button"
                        aria-label={`Edit window of ${w.group}`}
                        disabled={busy}
                        onClick={() => {
                          setTarget(keyOf(w.group, w.dynamic));
                          setForm({ enabled: true, cron: w.window.cron, hours: String(+(w.window.durationMs / 3600_000).toFixed(4)), timeZone: w.window.timeZone });
                        }}
                      >
                        Edit
                      </button>{' '}
                      <button type="button" className="danger" aria-label={`Remove window of ${w.group}`} disabled={busy} onClick={() => void change(keyOf(w.group, w.dynamic), null)}>
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="empty">No group has a window.</p>
          )}
          {choices.length === 0 ? (
            <p className="muted">Make a static group (Add to group…) or save a dynamic group first.</p>
          ) : (
            <div className="window-fields">
              <label className="field">
                Group
                <select value={chosen} disabled={busy} onChange={(e) => setTarget(e.target.value)}>
                  {choices.map((key) => {
                    const { group, dynamic } = fromKey(key);
                    return (
                      <option key={key} value={key}>
                        {group} ({dynamic ? 'dynamic' : 'static'})
                      </option>
                    );
                  })}
                </select>
              </label>
              <label className="field">
                Opens at (cron: minute hour day month weekday)
                <input value={form.cron} disabled={busy} onChange={(e) => setForm({ ...form, cron: e.target.value })} />
              </label>
              <label className="field">
                Length (hours)
                <input inputMode="decimal" value={form.hours} disabled={busy} onChange={(e) => setForm({ ...form, hours: e.target.value })} />
              </label>
              <label className="field">
                Time zone (IANA, empty for UTC)
                <input value={form.timeZone} disabled={busy} onChange={(e) => setForm({ ...form, timeZone: e.target.value })} />
              </label>
              <p role="status" data-testid="group-next-window">
                {'error' in parsed ? parsed.error : next}
              </p>
              <button type="button" className="primary" disabled={busy || 'error' in parsed || !chosen} onClick={() => 'window' in parsed && void change(chosen, parsed.window)}>
                Set window
              </button>
            </div>
          )}
        </>
      )}
      {notice && (
        <p role={notice.kind === 'error' ? 'alert' : 'status'} className={`notice ${notice.kind}`}>
          {notice.text}
        </p>
      )}
    </section>
  );
}

function NextOpening({ window }: { window: MaintenanceWindow }) {
  const text = useNextWindow({ enabled: true, cron: window.cron, hours: '', timeZone: window.timeZone });
  return <>{text.replace(/^Next window opens /, '')}</>;
}
