import type { DynamicGroupRow, GroupRow } from '../../src-main/common/console-api';
import { FilterBuilder, PreviewCount, toQuery, usePreview, type ConditionRow } from './filter-builder';
import { plural } from './device-list';

// The wizard's target: the selected devices, a static group, a dynamic
// group, or a new filter saved as a dynamic group when the deployment is
// created. Dynamic targets show the hub's live count of matching devices.

export type TargetKind = 'devices' | 'group' | 'dynamic' | 'filter';

export interface TargetRows {
  kind: TargetKind;
  group: string;
  dynamicGroup: string;
  filter: ConditionRow[];
  /** the name the new filter is saved under */
  filterName: string;
  /** cap on a dynamic target, as typed; '' = none */
  maxDevices: string;
}

export type Loaded<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; rows: T[] };

interface Props {
  target: TargetRows;
  onChange: (target: TargetRows) => void;
  deviceIds?: string[];
  groups: Loaded<GroupRow>;
  dynamicGroups: Loaded<DynamicGroupRow>;
  disabled: boolean;
}

export function WizardTarget({ target, onChange, deviceIds, groups, dynamicGroups, disabled }: Props) {
  const set = (change: Partial<TargetRows>) => onChange({ ...target, ...change });
  const chosen = dynamicGroups.state === 'ready' ? dynamicGroups.rows.find((g) => g.name === target.dynamicGroup) : undefined;
  const query = target.kind === 'filter' ? toQuery(target.filter) : target.kind === 'dynamic' && chosen ? chosen.query : null;
  const preview = usePreview(query && (target.kind === 'dynamic' || query.conditions.length > 0) ? query : null);

  if (deviceIds) {
    return <p className="target-summary">Target: {plural(deviceIds.length, 'selected device')}.</p>;
  }
  const kinds: [TargetKind, string][] = [
    ['group', 'Static group'],
    ['dynamic', 'Dynamic group'],
    ['filter', 'New filter'],
  ];
  return (
    <div className="wizard-target">
      <div role="radiogroup" aria-label="Target kind" className="target-kinds">
        {kinds.map(([kind, label]) => (
          <label key={kind}>
            <input type="radio" name="target-kind" checked={target.kind === kind} disabled={disabled} onChange={() => set({ kind })} /> {label}
          </label>
        ))}
      </div>
      {target.kind === 'group' && <StaticGroupChoice groups={groups} group={target.group} disabled={disabled} onChange={(group) => set({ group })} />}
      {target.kind === 'dynamic' && <DynamicGroupChoice groups={dynamicGroups} name={target.dynamicGroup} disabled={disabled} onChange={(dynamicGroup) => set({ dynamicGroup })} />}
      {target.kind === 'filter' && (
        <>
          <FilterBuilder label="Filter" rows={target.filter} onChange={(filter) => set({ filter })} disabled={disabled} />
          <label className="field">
            Save the filter as dynamic group
            <input value={target.filterName} placeholder="letters, digits, . _ -" disabled={disabled} onChange={(e) => set({ filterName: e.target.value })} />
          </label>
        </>
      )}
      {(target.kind === 'dynamic' || target.kind === 'filter') && (
        <>
          <PreviewCount preview={preview} />
          <label className="field">
            At most this many devices (devices that match later join until then; empty: no cap)
            <input inputMode="numeric" value={target.maxDevices} disabled={disabled} onChange={(e) => set({ maxDevices: e.target.value })} />
          </label>
        </>
      )}
    </div>
  );
}

function LoadProblem({ what, load }: { what: string; load: Loaded<unknown> }) {
  if (load.state === 'loading') return <p className="muted">Loading {what}…</p>;
  if (load.state === 'error') {
    return (
      <p role="alert" className="notice error">
        {load.message}
      </p>
    );
  }
  return null;
}

function StaticGroupChoice({ groups, group, disabled, onChange }: { groups: Loaded<GroupRow>; group: string; disabled: boolean; onChange: (name: string) => void }) {
  if (groups.state !== 'ready') return <LoadProblem what="groups" load={groups} />;
  if (groups.rows.length === 0) {
    return (
      <p className="empty">
        No static groups on the hub yet: select devices on the <a href="#/devices">Devices</a> page and choose “Add to group…”, or deploy to the selection directly.
      </p>
    );
  }
  return (
    <label className="group-choice">
      Target group
      <select value={group} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
        {groups.rows.map((g) => (
          <option key={g.name} value={g.name}>
            {g.name} ({plural(g.deviceIds.length, 'device')})
          </option>
        ))}
      </select>
    </label>
  );
}

function DynamicGroupChoice({ groups, name, disabled, onChange }: { groups: Loaded<DynamicGroupRow>; name: string; disabled: boolean; onChange: (name: string) => void }) {
  if (groups.state !== 'ready') return <LoadProblem what="dynamic groups" load={groups} />;
  if (groups.rows.length === 0) {
    return <p className="empty">No dynamic groups yet: choose “New filter”, or build one on the Devices page.</p>;
  }
  return (
    <label className="group-choice">
      Target dynamic group
      <select value={name} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
        {groups.rows.map((g) => (
          <option key={g.name} value={g.name}>
            {g.name}
          </option>
        ))}
      </select>
    </label>
  );
}
