import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { AdmissionStatus, DeviceQuery } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { DeviceWindowLoader, type DeviceFilter } from '../device-window-loader';
import { deploymentHref, deviceHref } from '../route';
import { useDeviceList, type StatusFilter } from '../stores/device-list-store';
import { ConfirmDialog } from './confirm-dialog';
import { DeploymentWizard } from './deployment-wizard';
import { DeviceGrid } from './device-grid';
import { DynamicGroupPanel } from './dynamic-group-panel';
import { GroupDialog } from './group-dialog';

// The device list: text filter, status chips, bulk actions, the grid, and
// (on demand) the filter builder that saves dynamic groups.

const FILTER_DEBOUNCE_MS = 250;
const CHIPS: { status: StatusFilter; label: string }[] = [
  { status: 'all', label: 'All' },
  { status: 'pending', label: 'Pending' },
  { status: 'accepted', label: 'Accepted' },
  { status: 'rejected', label: 'Rejected' },
];

type Notice = { kind: 'ok' | 'error'; text: string } | null;
type Confirm = { count: number; text: string } | null;

export function DeviceList() {
  const { text, status, sort, descending, selected, setText, setStatus, clearSelection } = useDeviceList();
  const filter = useMemo<DeviceFilter>(
    () => ({ text: text || undefined, status: status === 'all' ? undefined : status, sort, descending }),
    [text, status, sort, descending],
  );
  const [loader] = useState(() => new DeviceWindowLoader((q: DeviceQuery) => fleet.devices.query(q), filter));
  const snap = useSyncExternalStore(loader.subscribe, loader.snapshot);
  const [draft, setDraft] = useState(text);
  const [notice, setNotice] = useState<Notice>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [busy, setBusy] = useState(false);
  const [deploying, setDeploying] = useState(false);
  const [grouping, setGrouping] = useState(false);
  const [building, setBuilding] = useState(false);

  useEffect(() => loader.setFilter(filter), [loader, filter]);
  useEffect(() => {
    loader.show(0, 0); // the first block gives the total; the grid asks for the rest
    const off = fleet.onEvent((e) => {
      if (e.type === 'devices-changed') loader.refresh();
    });
    return () => {
      off();
      loader.stop();
    };
  }, [loader]);

  useEffect(() => {
    if (draft === text) return;
    const timer = setTimeout(() => setText(draft), FILTER_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [draft, text, setText]);

  const open = (id: string) => {
    location.hash = deviceHref(id);
  };

  async function run(label: string, action: () => Promise<{ changed: string[]; notFound: string[] }>): Promise<void> {
    setBusy(true);
    try {
      const result = await action();
      const missing = result.notFound.length ? ` (${result.notFound.length} no longer exist)` : '';
      setNotice({ kind: 'ok', text: `${label} ${plural(result.changed.length, 'device')}${missing}.` });
      clearSelection();
      loader.refresh();
    } catch (err) {
      setNotice({ kind: 'error', text: `${label} failed: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  }

  async function askAcceptAll(): Promise<void> {
    try {
      const page = await fleet.devices.query({ text: text || undefined, status: 'pending', offset: 0, limit: 1 });
      setConfirm({ count: page.total, text });
    } catch (err) {
      setNotice({ kind: 'error', text: `Counting pending devices failed: ${(err as Error).message}` });
    }
  }

  const counts = snap.counts;
  const all = counts.pending + counts.accepted + counts.rejected;
  const ids = [...selected];

  return (
    <section className="device-list" aria-labelledby="devices-title">
      <div className="toolbar">
        <h1 id="devices-title">Devices</h1>
        <input
          type="search"
          className="filter"
          aria-label="Filter devices"
          placeholder="Filter by id, type, OS or inventory value"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <div role="group" aria-label="Status filter" className="chips">
          {CHIPS.map((chip) => (
            <button
              key={chip.status}
              type="button"
              className="chip"
              aria-pressed={status === chip.status}
              onClick={() => setStatus(chip.status)}
            >
              {chip.label} <span className="chip-count">{(chip.status === 'all' ? all : counts[chip.status as AdmissionStatus]).toLocaleString('en-US')}</span>
            </button>
          ))}
        </div>
        <button type="button" aria-expanded={building} onClick={() => setBuilding(!building)}>
          {building ? 'Hide filter builder' : 'Filter builder…'}
        </button>
      </div>
      {building && <DynamicGroupPanel />}

      <div className="actions" role="toolbar" aria-label="Device actions">
        <span className="selection-count" aria-live="polite">
          {ids.length ? `${plural(ids.length, 'device')} selected` : 'No devices selected'}
        </span>
        <button type="button" className="primary" disabled={!ids.length || busy} onClick={() => run('Accepted', () => fleet.devices.accept(ids))}>
          Accept
        </button>
        <button type="button" className="danger" disabled={!ids.length || busy} onClick={() => run('Rejected', () => fleet.devices.reject(ids))}>
          Reject
        </button>
        <button type="button" disabled={!ids.length || busy} onClick={() => setDeploying(true)}>
          Deploy…
        </button>
        <button type="button" disabled={!ids.length || busy} onClick={() => setGrouping(true)}>
          Add to group…
        </button>
        <button type="button" disabled={!ids.length || busy} onClick={clearSelection}>
          Clear selection
        </button>
        <span className="spacer" />
        <button type="button" disabled={busy || counts.pending === 0} onClick={askAcceptAll}>
          Accept all matching…
        </button>
      </div>

      {notice && (
        <p role={notice.kind === 'error' ? 'alert' : 'status'} className={`notice ${notice.kind}`}>
          {notice.text}
        </p>
      )}
      {snap.error && (
        <p role="alert" className="notice error">
          Could not read the device list: {snap.error}
        </p>
      )}

      {snap.total === null ? (
        <p className="muted">Loading devices…</p>
      ) : snap.total === 0 ? (
        <p className="empty" data-testid="no-devices">
          {all === 0 ? 'No devices yet. Devices appear here when they enroll with the hub.' : 'No devices match this filter.'}
        </p>
      ) : null}
      <DeviceGrid loader={loader} total={snap.total ?? 0} onOpen={open} />

      {deploying && (
        <DeploymentWizard
          deviceIds={ids}
          onCancel={() => setDeploying(false)}
          onCreated={(id) => {
            setDeploying(false);
            clearSelection();
            location.hash = deploymentHref(id);
          }}
        />
      )}
      {grouping && (
        <GroupDialog
          deviceIds={ids}
          onCancel={() => setGrouping(false)}
          onDone={(group) => {
            setGrouping(false);
            setNotice({ kind: 'ok', text: `Group “${group.name}” now has ${plural(group.deviceIds.length, 'device')}.` });
            clearSelection();
          }}
        />
      )}
      {confirm && (
        <ConfirmDialog
          title="Accept all matching devices"
          confirmLabel={`Accept ${plural(confirm.count, 'device')}`}
          canConfirm={confirm.count > 0}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            setConfirm(null);
            void run('Accepted', () => fleet.devices.acceptAllMatching({ text: confirm.text || undefined }));
          }}
        >
          {confirm.count === 0
            ? 'No pending devices match the current filter.'
            : `Accept ${plural(confirm.count, 'pending device')}${confirm.text ? ` matching “${confirm.text}”` : ''}? They will be allowed to connect to the hub.`}
        </ConfirmDialog>
      )}
    </section>
  );
}

export function plural(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}
