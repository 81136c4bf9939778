import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import type { DeviceDetail } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { installedSoftware } from '../format/installed-software';
import { groupInventory } from '../format/inventory-groups';
import { lastSeenText } from '../format/relative-time';
import { useNow } from '../use-now';
import { DeviceUpdates } from './device-updates';

// One device: admission, liveness, identity, key and inventory. Re-read live
// when the cache says this device (or anything) changed.

// Remote access (xterm.js and its addons) loads only when a device page is shown.
const RemotePanel = lazy(() => import('./remote/remote-panel').then((m) => ({ default: m.RemotePanel })));

type Load = { state: 'loading' } | { state: 'missing' } | { state: 'error'; message: string } | { state: 'ready'; device: DeviceDetail };

export function DevicePage({ id }: { id: string }) {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const now = useNow(30_000);

  const reload = useCallback(() => {
    fleet.devices.get(id).then(
      (device) => setLoad(device ? { state: 'ready', device } : { state: 'missing' }),
      (err: Error) => setLoad({ state: 'error', message: err.message }),
    );
  }, [id]);

  useEffect(() => {
    reload();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = fleet.onEvent((e) => {
      if (e.type !== 'devices-changed' || (e.ids.length > 0 && !e.ids.includes(id)) || timer) return;
      timer = setTimeout(() => {
        timer = null;
        reload();
      }, 150);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [id, reload]);

  async function act(label: string, call: (ids: string[]) => Promise<{ changed: string[]; notFound: string[] }>): Promise<void> {
    setBusy(true);
    try {
      const result = await call([id]);
      setNotice(result.notFound.length ? { kind: 'error', text: 'This device no longer exists on the hub.' } : { kind: 'ok', text: `${label}.` });
      reload();
    } catch (err) {
      setNotice({ kind: 'error', text: `${label} failed: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  }

  return (
    <article className="device-page" aria-labelledby="device-title">
      <a href="#/devices" className="back">
        ← Back to devices
      </a>
      <h1 id="device-title">{id}</h1>
      {load.state === 'loading' && <p className="muted">Loading…</p>}
      {load.state === 'missing' && <p role="alert" className="notice error">No device “{id}” in the console’s cache.</p>}
      {load.state === 'error' && <p role="alert" className="notice error">Could not read this device: {load.message}</p>}
      {notice && (
        <p role={notice.kind === 'error' ? 'alert' : 'status'} className={`notice ${notice.kind}`}>
          {notice.text}
        </p>
      )}
      {load.state === 'ready' && (
        <>
          <div className="device-actions">
            <button type="button" className="primary" disabled={busy || load.device.status === 'accepted'} onClick={() => act('Accepted', fleet.devices.accept)}>
              Accept
            </button>
            <button type="button" className="danger" disabled={busy || load.device.status === 'rejected'} onClick={() => act('Rejected', fleet.devices.reject)}>
              Reject
            </button>
          </div>
          <Summary device={load.device} now={now} />
          <DeviceUpdates deviceId={id} />
          {load.device.status === 'accepted' && (
            <Suspense fallback={<p className="muted">Loading remote access…</p>}>
              <RemotePanel deviceId={id} online={load.device.online} />
            </Suspense>
          )}
          <KeyValueTable title="Identity" entries={Object.entries(load.device.identity).sort(([a], [b]) => a.localeCompare(b))} testIdPrefix="identity" />
          <section aria-labelledby="key-title" className="panel">
            <h2 id="key-title">Public key (ed25519)</h2>
            <code className="public-key" data-testid="public-key">
              {load.device.publicKey || '—'}
            </code>
          </section>
          <section aria-labelledby="inventory-title" className="panel">
            <h2 id="inventory-title">Inventory</h2>
            {Object.keys(load.device.inventory).length === 0 && <p className="muted">The device has not reported an inventory yet.</p>}
            {groupInventory(load.device.inventory).map((group) => (
              <KeyValueTable key={group.name} title={group.title} entries={group.entries} testIdPrefix="inventory" level={3} />
            ))}
          </section>
        </>
      )}
    </article>
  );
}

function Summary({ device, now }: { device: DeviceDetail; now: number }) {
  return (
    <dl className="summary">
      <dt>Status</dt>
      <dd data-testid="device-status">
        <span className={`badge status-${device.status}`}>{device.status}</span>
      </dd>
      <dt>Connection</dt>
      <dd data-testid="device-online">
        <span className={`dot ${device.online ? 'on' : 'off'}`} aria-hidden="true" />
        {device.online ? 'Online' : `Offline — last seen ${lastSeenText(false, device.lastSeenMs, now)}`}
      </dd>
      <dt>Device type</dt>
      <dd>{device.deviceType || '—'}</dd>
      <dt>OS</dt>
      <dd>{device.os || '—'}</dd>
      <dt>Software</dt>
      <dd data-testid="device-software">
        {installedSoftware(device.inventory)
          .map((a) => `${a.name} ${a.version}`)
          .join(', ') || '—'}
        {device.inventory['rootfs.active'] && <span className="muted"> (root filesystem slot {device.inventory['rootfs.active']})</span>}
      </dd>
      <dt>First seen</dt>
      <dd>{device.createdMs ? new Date(device.createdMs).toLocaleString() : '—'}</dd>
    </dl>
  );
}

function KeyValueTable({ title, entries, testIdPrefix, level = 2 }: { title: string; entries: [string, string][]; testIdPrefix: string; level?: 2 | 3 }) {
  const Heading = level === 2 ? 'h2' : 'h3';
  return (
    <section className={level === 2 ? 'panel' : 'group'}>
      <Heading>{title}</Heading>
      <table className="kv" aria-label={title}>
        <tbody>
          {entries.map(([key, value]) => (
            <tr key={key}>
              <th scope="row">{key}</th>
              <td data-testid={`${testIdPrefix}-${key}`}>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
