import { useEffect, useState } from 'react';
import type { DirectSettingsView, RemoteTarget, RemoteVia } from '../../../src-main/common/console-api';
import { fleet } from '../../api';
import { DirectSettingsForm } from './direct-settings-form';
import { FileBrowser } from './file-browser';
import { HostKeyAlert } from './host-key-alert';
import { RecordingsPanel } from './recordings-panel';
import { TerminalTabs } from './terminal-tabs';
import { TunnelsPanel } from './tunnels-panel';

type Tool = 'terminal' | 'files' | 'tunnels' | 'recordings';
const TOOLS: { id: Tool; label: string }[] = [
  { id: 'terminal', label: 'Terminal' },
  { id: 'files', label: 'Files' },
  { id: 'tunnels', label: 'Tunnels' },
  { id: 'recordings', label: 'Sessions & recordings' },
];

/** The operator's choice per device survives a page reload (this browser only). */
const viaKey = (deviceId: string) => `fleet.remote.via.${deviceId}`;

// Remote troubleshooting on the device page: terminal, files and tunnels,
// either through the hub (audited, shells recorded) or straight over SSH
// (direct mode, for a device on this LAN without a hub). It always says
// which one it uses. Switching remounts the tools on the new path.
export function RemotePanel({ deviceId, online }: { deviceId: string; online: boolean }) {
  const [via, setVia] = useState<RemoteVia>(() => (localStorage.getItem(viaKey(deviceId)) === 'direct' ? 'direct' : 'hub'));
  const [tool, setTool] = useState<Tool>('terminal');
  const [direct, setDirect] = useState<DirectSettingsView | null>(null);
  const [editing, setEditing] = useState(false);

  useEffect(() => {
    void fleet.remote.getDirect(deviceId).then(setDirect, () => setDirect(null));
  }, [deviceId]);
  const choose = (v: RemoteVia) => {
    localStorage.setItem(viaKey(deviceId), v);
    setVia(v);
  };
  const target: RemoteTarget = { deviceId, via };
  const ready = via === 'hub' || direct !== null;

  return (
    <section className="panel remote-panel" aria-labelledby="remote-title">
      <h2 id="remote-title">Remote access</h2>
      <div className="via-bar" role="radiogroup" aria-label="Connect through">
        <label>
          <input type="radio" name={`via-${deviceId}`} checked={via === 'hub'} onChange={() => choose('hub')} /> Through the hub
        </label>
        <label>
          <input type="radio" name={`via-${deviceId}`} checked={via === 'direct'} onChange={() => choose('direct')} /> Direct (SSH)
        </label>
        <span className="via-status" data-testid="remote-via" role="status">
          {via === 'hub'
            ? `Using the hub relay${online ? '' : ' — the device is offline, sessions will be refused'}; every session is audited and shells are recorded.`
            : direct
              ? `Using direct SSH to ${direct.username}@${direct.host}:${direct.port} (not through the hub, not recorded).`
              : 'Direct SSH needs this device’s address and login.'}
        </span>
        {via === 'direct' && direct && (
          <button type="button" onClick={() => setEditing((e) => !e)}>
            {editing ? 'Hide SSH settings' : 'SSH settings'}
          </button>
        )}
      </div>
      {via === 'direct' && <HostKeyAlert deviceId={deviceId} />}
      {via === 'direct' && (!direct || editing) && (
        <DirectSettingsForm
          deviceId={deviceId}
          onSaved={(v) => {
            setDirect(v);
            setEditing(false);
          }}
        />
      )}
      {ready && (
        <>
          <div role="tablist" aria-label="Remote tools" className="tool-tabs">
            {TOOLS.filter((t) => via === 'hub' || t.id !== 'recordings').map((t) => (
              <button key={t.id} type="button" role="tab" aria-selected={tool === t.id} onClick={() => setTool(t.id)}>
                {t.label}
              </button>
            ))}
          </div>
          {/* Keyed by the path so switching hub/direct starts clean sessions. Terminals stay mounted while other tools are shown. */}
          <div key={via} className="remote-tools">
            <div hidden={tool !== 'terminal'}>
              <TerminalTabs target={target} />
            </div>
            {tool === 'files' && <FileBrowser target={target} />}
            {tool === 'tunnels' && <TunnelsPanel target={target} />}
            {tool === 'recordings' && via === 'hub' && <RecordingsPanel deviceId={deviceId} />}
          </div>
        </>
      )}
    </section>
  );
}
