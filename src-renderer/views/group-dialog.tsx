import { useEffect, useId, useRef, useState } from 'react';
import type { GroupRow } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { plural } from './device-list';

// "Add to group…": puts the selected devices into a static group on the hub
// (a new name makes a new group), so a deployment can target the group.

interface Props {
  deviceIds: string[];
  onCancel: () => void;
  onDone: (group: GroupRow) => void;
}

export function GroupDialog({ deviceIds, onCancel, onDone }: Props) {
  const titleId = useId();
  const listId = useId();
  const [name, setName] = useState('');
  const [existing, setExisting] = useState<GroupRow[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    input.current?.focus();
    // Only suggestions: the dialog works without them.
    fleet.groups.list().then(setExisting, () => {});
  }, []);

  async function add(): Promise<void> {
    setBusy(true);
    setError('');
    try {
      onDone(await fleet.groups.setMembers(name.trim(), { add: deviceIds }));
    } catch (err) {
      setError(`The hub did not change the group: ${(err as Error).message}`);
      setBusy(false);
    }
  }

  return (
    <div className="backdrop" onKeyDown={(e) => e.key === 'Escape' && !busy && onCancel()}>
      <form
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        className="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim() && !busy) void add();
        }}
      >
        <h2 id={titleId}>Add {plural(deviceIds.length, 'device')} to a group</h2>
        <label className="field">
          Group name
          <input ref={input} value={name} list={listId} disabled={busy} onChange={(e) => setName(e.target.value)} placeholder="e.g. lab" />
        </label>
        <datalist id={listId}>
          {existing.map((g) => (
            <option key={g.name} value={g.name}>
              {plural(g.deviceIds.length, 'device')}
            </option>
          ))}
        </datalist>
        {error && (
          <p role="alert" className="notice error">
            {error}
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!name.trim() || busy}>
            Add to group
          </button>
        </div>
      </form>
    </div>
  );
}
