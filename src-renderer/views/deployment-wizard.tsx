import { useEffect, useId, useRef, useState } from 'react';
import type { ArtifactRow, CreateDeploymentParams, DynamicGroupRow, GroupRow } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { formatSize } from '../format/bytes';
import { defaultPlan, toRolloutOptions, type PlanRows } from '../format/rollout-plan';
import { plural } from './device-list';
import { toQuery } from './filter-builder';
import { WizardPhases } from './wizard-phases';
import { WizardReview } from './wizard-review';
import { WizardSchedule } from './wizard-schedule';
import { WizardTarget, type Loaded, type TargetRows } from './wizard-target';

// "New deployment" / "Deploy to N devices": artifact and target, phases,
// pauses and window, review. Deploy works from any step with what is set
// so far (the defaults are one phase, no pause: a plain deployment), so
// the quick path stays one click. Artifacts that devices will refuse
// (unsigned, untrusted key) are shown but cannot be picked.

const STEPS = ['Artifact and target', 'Phases', 'Pauses and window', 'Review'] as const;

interface Props {
  /** the selected devices; without them the wizard asks for a group or a filter */
  deviceIds?: string[];
  onCancel: () => void;
  onCreated: (deploymentId: string) => void;
}

export function DeploymentWizard({ deviceIds, onCancel, onCreated }: Props) {
  const titleId = useId();
  const [step, setStep] = useState(0);
  const [artifacts, setArtifacts] = useState<Loaded<ArtifactRow>>({ state: 'loading' });
  const [groups, setGroups] = useState<Loaded<GroupRow>>({ state: 'loading' });
  const [dynamicGroups, setDynamicGroups] = useState<Loaded<DynamicGroupRow>>({ state: 'loading' });
  const [artifactId, setArtifactId] = useState('');
  const [allowDowngrade, setAllowDowngrade] = useState(false);
  const [force, setForce] = useState(false);
  const [target, setTarget] = useState<TargetRows>({ kind: deviceIds ? 'devices' : 'group', group: '', dynamicGroup: '', filter: [], filterName: '', maxDevices: '' });
  const [plan, setPlan] = useState<PlanRows>(defaultPlan);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const firstFocus = useRef<HTMLButtonElement>(null);
  const byGroup = deviceIds === undefined;

  useEffect(() => {
    firstFocus.current?.focus();
    if (byGroup) {
      fleet.groups.list().then(
        (rows) => {
          setGroups({ state: 'ready', rows });
          if (rows.length) setTarget((t) => ({ ...t, group: t.group || rows[0].name }));
        },
        (err: Error) => setGroups({ state: 'error', message: `Could not list groups: ${err.message}` }),
      );
      fleet.groups.listDynamic().then(
        (rows) => {
          setDynamicGroups({ state: 'ready', rows });
          if (rows.length) setTarget((t) => ({ ...t, dynamicGroup: t.dynamicGroup || rows[0].name }));
        },
        (err: Error) => setDynamicGroups({ state: 'error', message: `Could not list dynamic groups: ${err.message}` }),
      );
    }
    fleet.artifacts.list().then(
      (rows) => {
        setArtifacts({ state: 'ready', rows });
        const first = rows.find((a) => a.signatureStatus === 'trusted');
        if (first) setArtifactId((current) => current || first.id);
      },
      (err: Error) => setArtifacts({ state: 'error', message: `Could not list artifacts: ${err.message}` }),
    );
  }, [byGroup]);

  const targetProblem = checkTarget(target, deviceIds);
  const rollout = toRolloutOptions(plan);
  const problem = !artifactId ? 'Choose an artifact.' : targetProblem || ('error' in rollout ? rollout.error : '');
  const artifact = artifacts.state === 'ready' ? artifacts.rows.find((a) => a.id === artifactId) : undefined;

  async function create(): Promise<void> {
    if (problem || 'error' in rollout) return;
    setBusy(true);
    setError('');
    try {
      const params: CreateDeploymentParams = { artifactId, allowDowngrade, force, rollout: { ...rollout.options } };
      if (target.kind === 'devices') params.deviceIds = deviceIds;
      else if (target.kind === 'group') params.group = target.group;
      else {
        const name = target.kind === 'filter' ? (await fleet.groups.createDynamic(target.filterName.trim(), toQuery(target.filter))).name : target.dynamicGroup;
        params.rollout = { ...params.rollout, dynamicGroup: name, maxDevices: Number(target.maxDevices || '0') };
      }
      const deployment = await fleet.deployments.create(params);
      onCreated(deployment.id);
    } catch (err) {
      setError(`The hub did not create the deployment: ${(err as Error).message}`);
      setBusy(false);
    }
  }

  return (
    <div className="backdrop" onKeyDown={(e) => e.key === 'Escape' && !busy && onCancel()}>
      <div role="dialog" aria-modal="true" aria-labelledby={titleId} className="dialog deploy-dialog">
        <h2 id={titleId}>{deviceIds === undefined ? 'New deployment' : `Deploy to ${plural(deviceIds.length, 'device')}`}</h2>
        <ol className="wizard-steps" aria-label="Steps">
          {STEPS.map((name, i) => (
            <li key={name}>
              <button type="button" className="step" aria-current={i === step ? 'step' : undefined} disabled={busy} onClick={() => setStep(i)}>
                {i + 1}. {name}
              </button>
            </li>
          ))}
        </ol>
        {step === 0 && (
          <>
            <WizardTarget target={target} onChange={setTarget} deviceIds={deviceIds} groups={groups} dynamicGroups={dynamicGroups} disabled={busy} />
            <ArtifactChoice artifacts={artifacts} artifactId={artifactId} disabled={busy} onChange={setArtifactId} />
            <div className="options">
              <label>
                <input type="checkbox" checked={allowDowngrade} disabled={busy} onChange={(e) => setAllowDowngrade(e.target.checked)} /> Allow downgrade
              </label>
              <label>
                <input type="checkbox" checked={force} disabled={busy} onChange={(e) => setForce(e.target.checked)} /> Reinstall where already installed
              </label>
            </div>
            <p className="muted">Devices of another type are marked incompatible and left untouched.</p>
          </>
        )}
        {step === 1 && <WizardPhases phases={plan.phases} onChange={(phases) => setPlan({ ...plan, phases })} />}
        {step === 2 && <WizardSchedule plan={plan} onChange={setPlan} />}
        {step === 3 && <WizardReview artifact={artifact} target={target} deviceIds={deviceIds} rollout={'options' in rollout ? rollout.options : null} allowDowngrade={allowDowngrade} force={force} />}
        {step > 0 && problem && (
          <p role="alert" className="notice warn">
            {problem}
          </p>
        )}
        {error && (
          <p role="alert" className="notice error">
            {error}
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" ref={firstFocus} onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <span className="spacer" />
          <button type="button" disabled={busy || step === 0} onClick={() => setStep(step - 1)}>
            Back
          </button>
          {step < STEPS.length - 1 && (
            <button type="button" disabled={busy} onClick={() => setStep(step + 1)}>
              Next
            </button>
          )}
          <button type="button" className="primary" disabled={!!problem || busy} title={problem || undefined} onClick={() => void create()}>
            {busy ? 'Deploying…' : 'Deploy'}
          </button>
        </div>
      </div>
    </div>
  );
}

function checkTarget(t: TargetRows, deviceIds: string[] | undefined): string {
  if (t.kind === 'devices') return deviceIds?.length ? '' : 'No devices selected.';
  if (t.kind === 'group') return t.group ? '' : 'Choose a static group.';
  if (t.kind === 'dynamic' && !t.dynamicGroup) return 'Choose a dynamic group.';
  if (t.kind === 'filter') {
    if (toQuery(t.filter).conditions.length === 0) return 'Add at least one filter condition.';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(t.filterName.trim())) return 'Name the filter (letters, digits, “.”, “_”, “-”; at most 64) to save it as a dynamic group.';
  }
  if (t.maxDevices.trim() && !/^\d+$/.test(t.maxDevices.trim())) return 'The device cap must be a whole number.';
  return '';
}

function ArtifactChoice({ artifacts, artifactId, disabled, onChange }: { artifacts: Loaded<ArtifactRow>; artifactId: string; disabled: boolean; onChange: (id: string) => void }) {
  if (artifacts.state === 'loading') return <p className="muted">Loading artifacts…</p>;
  if (artifacts.state === 'error') {
    return (
      <p role="alert" className="notice error">
        {artifacts.message}
      </p>
    );
  }
  if (artifacts.rows.length === 0) {
    return (
      <p className="empty">
        The hub has no artifacts yet: upload one on the <a href="#/artifacts">Artifacts</a> page first.
      </p>
    );
  }
  return (
    <fieldset className="artifact-choice">
      <legend>Artifact</legend>
      {artifacts.rows.map((a) => {
        const refused = a.signatureStatus !== 'trusted';
        return (
          <label key={a.id} className={refused ? 'refused' : undefined}>
            <input type="radio" name="artifact" value={a.id} checked={artifactId === a.id} disabled={refused || disabled} onChange={() => onChange(a.id)} />
            <span>
              <strong>
                {a.name} {a.version}
              </strong>{' '}
              <span className="muted">
                for {a.deviceTypes.join(', ')} · {formatSize(a.size)}
                {refused && ` · ${a.signatureStatus === 'unsigned' ? 'unsigned' : 'untrusted key'}: devices would refuse it`}
              </span>
            </span>
          </label>
        );
      })}
    </fieldset>
  );
}
