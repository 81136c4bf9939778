import { useEffect, useState } from 'react';
import type { RemoteTarget, RemoteTunnelInfo } from '../../../src-main/common/console-api';
import { fleet } from '../../api';
import { formatSize } from '../../format/bytes';
import { errorText } from './remote-error';
import { onAnyRemoteEvent } from './remote-events';


// Local tunnels to the device: 127.0.0.1:PORT (or any free port) on this
// computer → HOST:PORT as the device sees it. Each TCP connection gets its
// own channel; the list shows live connection counts and the last error.
export function TunnelsPanel({ target }: { target: RemoteTarget }) {
  const [tunnels, setTunnels] = useState<RemoteTunnelInfo[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [localPort, setLocalPort] = useState('');
  const [host, setHost] = useState('127.0.0.1');
  const [port, setPort] = useState('');
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);

  const refresh = () => void fleet.remote.listTunnels().then((all) => setTunnels(all.filter((t) => t.deviceId === target.deviceId)), () => undefined);
  useEffect(() => {
    refresh();
    return onAnyRemoteEvent((e) => {
      if (e.type === 'remote-tunnel') setTunnels((list) => list.map((t) => (t.tunnelId === e.tunnel.tunnelId ? e.tunnel : t)));
      else if (e.type === 'remote-tunnel-error') setErrors((m) => ({ ...m, [e.tunnelId]: errorText(e.error) }));
      else if (e.type === 'remote-tunnel-closed') {
        setTunnels((list) => list.filter((t) => t.tunnelId !== e.tunnelId));
        if (e.reason && e.reason !== 'closed by the operator') setNotice(`Tunnel closed: ${e.reason}`);
      }
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target.deviceId]);

  async function open(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setNotice('');
    try {
      const t = await fleet.remote.openTunnel(target, { localPort: localPort ? Number(localPort) : 0, host: host.trim(), port: Number(port) });
      setTunnels((list) => [...list.filter((x) => x.tunnelId !== t.tunnelId), t]);
    } catch (err) {
      setNotice(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="tunnels-panel" aria-label="Tunnels">
      <form className="tunnel-form" onSubmit={open}>
        <label>
          Local port <input aria-label="Local port" inputMode="numeric" placeholder="any free" value={localPort} onChange={(e) => setLocalPort(e.target.value)} size={8} />
        </label>
        <span aria-hidden="true">→</span>
        <label>
          Device host <input aria-label="Device host" value={host} onChange={(e) => setHost(e.target.value)} size={16} />
        </label>
        <label>
          port <input aria-label="Device port" inputMode="numeric" value={port} onChange={(e) => setPort(e.target.value)} size={6} required />
        </label>
        <button type="submit" className="primary" disabled={busy || !port}>
          Open tunnel
        </button>
      </form>
      {notice && (
        <p role="alert" className="notice error">
          {notice}
        </p>
      )}
      {tunnels.length === 0 ? (
        <p className="muted">No tunnel open to this device.</p>
      ) : (
        <table className="tunnels" aria-label="Open tunnels">
          <thead>
            <tr>
              <th>Local</th>
              <th>Device</th>
              <th>Via</th>
              <th>Connections</th>
              <th>Traffic</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tunnels.map((t) => (
              <tr key={t.tunnelId} data-testid="tunnel-row" data-local-port={t.localPort}>
                <td className="mono">127.0.0.1:{t.localPort}</td>
                <td className="mono">
                  {t.host}:{t.port}
                </td>
                <td>{t.via === 'hub' ? 'hub' : 'SSH'}</td>
                <td data-testid="tunnel-connections">
                  {t.active} open · {t.accepted} total{t.failed ? ` · ${t.failed} failed` : ''}
                  {errors[t.tunnelId] && <div className="error-text">{errors[t.tunnelId]}</div>}
                </td>
                <td>
                  ↓ {formatSize(t.bytesIn)} ↑ {formatSize(t.bytesOut)}
                </td>
                <td className="tunnel-actions">
                  <a href={`http://127.0.0.1:${t.localPort}/`} target="_blank" rel="noopener noreferrer" title="For a web server on the device">
                    Open in browser
                  </a>
                  <button type="button" className="danger" onClick={() => void fleet.remote.closeTunnel(t.tunnelId).then(refresh)}>
                    Close
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
