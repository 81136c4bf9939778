import { useEffect, useState } from 'react';
import type { DirectSettingsView } from '../../../src-main/common/console-api';
import { fleet } from '../../api';
import { errorText } from './remote-error';

// A device's direct-mode (SSH) settings: address, user, and a key file on
// this computer or a password (kept in memory only). Host keys are trusted
// on first use and checked ever after (docs/direct-mode.md).
export function DirectSettingsForm({ deviceId, onSaved }: { deviceId: string; onSaved: (v: DirectSettingsView | null) => void }) {
  const [host, setHost] = useState('');
  const [port, setPort] = useState('22');
  const [username, setUsername] = useState('');
  const [authKind, setAuthKind] = useState<'key' | 'password'>('key');
  const [keyFile, setKeyFile] = useState('');
  const [secret, setSecret] = useState('');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  useEffect(() => {
    void fleet.remote.getDirect(deviceId).then((v) => {
      if (!v) return;
      setHost(v.host);
      setPort(String(v.port));
      setUsername(v.username);
      setAuthKind(v.authKind);
      setKeyFile(v.keyFile);
    });
  }, [deviceId]);

  async function save(e: React.FormEvent) {
    e.preventDefault();
    try {
      const auth = authKind === 'key' ? { kind: 'key' as const, keyFile: keyFile.trim(), ...(secret ? { passphrase: secret } : {}) } : { kind: 'password' as const, password: secret };
      const v = await fleet.remote.setDirect(deviceId, { host: host.trim(), port: Number(port) || 22, username: username.trim(), auth });
      setMessage({ kind: 'ok', text: 'Saved. Sessions over SSH use these settings.' });
      onSaved(v);
    } catch (err) {
      setMessage({ kind: 'error', text: errorText(err) });
    }
  }

  return (
    <form className="direct-settings" aria-label="Direct (SSH) settings" onSubmit={save}>
      <label>
        SSH host <input aria-label="SSH host" value={host} onChange={(e) => setHost(e.target.value)} placeholder="192.168.1.20" />
      </label>
      <label>
        Port <input aria-label="SSH port" value={port} onChange={(e) => setPort(e.target.value)} size={5} />
      </label>
      <label>
        User <input aria-label="SSH user" value={username} onChange={(e) => setUsername(e.target.value)} placeholder="root" />
      </label>
      <label>
        Login with{' '}
        <select aria-label="SSH login" value={authKind} onChange={(e) => setAuthKind(e.target.value as 'key' | 'password')}>
          <option value="key">key file</option>
          <option value="password">password</option>
        </select>
      </label>
      {authKind === 'key' && (
        <label>
          Key file <input aria-label="SSH key file" className="mono" value={keyFile} onChange={(e) => setKeyFile(e.target.value)} placeholder="~/.ssh/id_ed25519" />
        </label>
      )}
      <label>
        {authKind === 'key' ? 'Passphrase (if any)' : 'Password'}{' '}
        <input aria-label={authKind === 'key' ? 'SSH key passphrase' : 'SSH password'} type="password" value={secret} onChange={(e) => setSecret(e.target.value)} autoComplete="off" />
      </label>
      <button type="submit" className="primary">
        Save SSH settings
      </button>
      {message && (
        <p role={message.kind === 'error' ? 'alert' : 'status'} className={`notice ${message.kind}`}>
          {message.text}
        </p>
      )}
    </form>
  );
}
