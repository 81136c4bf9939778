import type { ArtifactRow, RolloutOptions } from '../../src-main/common/console-api';
import { describePhase, describeWindow } from '../format/rollout-plan';
import { plural } from './device-list';
import { describeCondition, toQuery } from './filter-builder';
import type { TargetRows } from './wizard-target';

// The wizard's last step: everything the hub will be asked, in words.

interface Props {
  artifact: ArtifactRow | undefined;
  target: TargetRows;
  deviceIds?: string[];
  rollout: RolloutOptions | null;
  allowDowngrade: boolean;
  force: boolean;
}

export function WizardReview({ artifact, target, deviceIds, rollout, allowDowngrade, force }: Props) {
  const phases = rollout?.phases ?? [];
  return (
    <dl className="summary wizard-review" aria-label="Review">
      <dt>Artifact</dt>
      <dd>{artifact ? `${artifact.name} ${artifact.version}` : 'none chosen'}</dd>
      <dt>Target</dt>
      <dd>{targetText(target, deviceIds)}</dd>
      <dt>Phases</dt>
      <dd>
        <ol className="plain">
          {phases.map((p, i) => (
            <li key={i}>{describePhase({ percent: p.percent ?? 0, count: p.count ?? 0, manual: p.manual ?? false, startMs: p.startMs ?? 0, maxFailures: p.maxFailures }, i, i === phases.length - 1)}</li>
          ))}
        </ol>
      </dd>
      <dt>Pauses</dt>
      <dd>{rollout?.pauseBefore?.length ? rollout.pauseBefore.map((s) => `before ${s}`).join(', ') : 'none'}</dd>
      <dt>Window</dt>
      <dd>{rollout?.window ? describeWindow(rollout.window) : 'none: install at once'}</dd>
      <dt>Failures</dt>
      <dd>
        {rollout?.maxFailures ? `halt when more than ${rollout.maxFailures.percent !== undefined ? `${rollout.maxFailures.percent}%` : plural(rollout.maxFailures.count ?? 0, 'device')} fail` : 'never halt'}
        {rollout?.retries ? `; retry ${plural(rollout.retries, 'time')} per device` : '; no retries'}
      </dd>
      <dt>Options</dt>
      <dd>{[allowDowngrade && 'downgrade allowed', force && 'forced reinstall'].filter(Boolean).join(', ') || 'none'}</dd>
    </dl>
  );
}

function targetText(t: TargetRows, deviceIds: string[] | undefined): string {
  const cap = t.maxDevices.trim() && t.maxDevices.trim() !== '0' ? `, at most ${plural(Number(t.maxDevices), 'device')}` : '';
  switch (t.kind) {
    case 'devices':
      return plural(deviceIds?.length ?? 0, 'selected device');
    case 'group':
      return `static group ${t.group}`;
    case 'dynamic':
      return `dynamic group ${t.dynamicGroup} (devices that match later join)${cap}`;
    case 'filter':
      return `new dynamic group ${t.filterName.trim()}: ${toQuery(t.filter).conditions.map(describeCondition).join(' and ')}${cap}`;
  }
}
