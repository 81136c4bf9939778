import { useState } from 'react';
import type { RemoteEntry, RemoteTarget } from '../../../src-main/common/console-api';
import { fleet } from '../../api';
import { explainRemoteError, type ExplainedError } from './remote-error';

// "New folder" in the device file view: a button that opens an inline name
// field (no window.prompt: it blocks the page and Electron does not offer
// it). The folder is made in the folder shown; a name with slashes makes the
// missing folders between, like mkdir -p. The device judges the path (its
// roots, `..`, a file in the way) and its refusal is shown here.
export function NewFolder({ target, folder, onMade }: { target: RemoteTarget; folder: string; onMade: (entry: RemoteEntry) => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ExplainedError | null>(null);

  const close = () => {
    setEditing(false);
    setName('');
    setError(null);
  };

  const create = async () => {
    const wanted = name.trim().replace(/\/+$/, '');
    if (!wanted) return setError({ code: '', title: 'Type a name for the new folder.', detail: '' });
    if (wanted.startsWith('/')) return setError({ code: '', title: 'Give a name inside this folder, not an absolute path.', detail: '' });
    setBusy(true);
    setError(null);
    try {
      const entry = await fleet.remote.mkdir(target, `${folder.replace(/\/+$/, '')}/${wanted}`);
      close();
      onMade(entry);
    } catch (err) {
      setError(explainRemoteError(err));
    } finally {
      setBusy(false);
    }
  };

  if (!editing) {
    return (
      <button type="button" disabled={!folder} onClick={() => setEditing(true)}>
        New folder
      </button>
    );
  }
  return (
    <form
      className="new-folder path-bar"
      aria-label="New folder"
      onSubmit={(e) => {
        e.preventDefault();
        void create();
      }}
    >
      <input
        aria-label="New folder name"
        className="mono"
        autoFocus
        value={name}
        disabled={busy}
        onChange={(e) => setName(e.target.value)}
        onKeyDown={(e) => e.key === 'Escape' && close()}
      />
      <button type="submit" disabled={busy}>
        Create
      </button>
      <button type="button" disabled={busy} onClick={close}>
        Cancel
      </button>
      {error && (
        <div role="alert" className="notice error" data-testid="new-folder-error" data-code={error.code}>
          <strong>{error.title}</strong> {error.detail}
        </div>
      )}
    </form>
  );
}
