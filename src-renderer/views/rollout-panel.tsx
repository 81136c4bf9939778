import { useState } from 'react';
import type { ContinueTarget, DeploymentRow, PauseStage } from '../../src-main/common/console-api';
import { describePhase, describeWindow } from '../format/rollout-plan';
import { doneCount, stageCounts, STAGES } from '../format/rollout-stages';
import { plural } from './device-list';
import { ProgressBar } from './progress-bar';

// A deployment's rollout on its page: why it is halted, its maintenance
// window, one bar per phase and per stage, and the controls (Continue the
// whole deployment, a phase or the selected devices, to the next pause or
// through a later one when it pauses at several; Pause; Resume). The
// page owns the calls; this panel only says which one was asked for.

export type RolloutAction = { kind: 'continue'; target: ContinueTarget; what: string } | { kind: 'pause' } | { kind: 'resume' };

interface Props {
  deployment: DeploymentRow;
  selected: string[];
  busy: boolean;
  onAction: (action: RolloutAction) => void;
}

export function RolloutPanel({ deployment: d, selected, busy, onAction }: Props) {
  const r = d.rollout;
  const [phase, setPhase] = useState(1);
  const [stage, setStage] = useState<PauseStage | ''>('');
  const open = d.status === 'active' || d.status === 'halted';
  const stages = stageCounts(d.counts);
  // With several pause points the operator may release more than the next one at once.
  const several = (r?.pauseBefore.length ?? 0) > 1;
  const go = (target: ContinueTarget, what: string) =>
    onAction({ kind: 'continue', target: stage ? { ...target, stage } : target, what: stage ? `${what} through the pause before ${stage}` : what });
  return (
    <section className="rollout-panel" aria-label="Rollout">
      {d.status === 'halted' && (
        <p role="alert" className="notice warn" data-testid="halt-reason">
          <span className="halt-reason">Halted:</span> {d.haltReason || 'no reason given'}. No new device starts and no pause is released until you resume it.
        </p>
      )}
      {open && (
        <div className="rollout-controls" role="toolbar" aria-label="Rollout controls">
          {several && (
            <select aria-label="Release" value={stage} disabled={busy} onChange={(e) => setStage(e.target.value as PauseStage | '')}>
              <option value="">to each device's next pause</option>
              {r!.pauseBefore.map((s) => (
                <option key={s} value={s}>
                  through the pause before {s}
                </option>
              ))}
            </select>
          )}
          <button type="button" className="primary" disabled={busy || d.status !== 'active'} onClick={() => go({}, 'the deployment')}>
            Continue
          </button>
          {r && r.phases.length > 1 && (
            <>
              <select aria-label="Phase to continue" value={phase} disabled={busy} onChange={(e) => setPhase(Number(e.target.value))}>
                {r.phases.map((p) => (
                  <option key={p.number} value={p.number}>
                    Phase {p.number}
                  </option>
                ))}
              </select>
              <button type="button" disabled={busy || d.status !== 'active'} onClick={() => go({ phase }, `phase ${phase}`)}>
                Continue phase
              </button>
            </>
          )}
          <button
            type="button"
            disabled={busy || d.status !== 'active' || selected.length === 0}
            onClick={() => go({ deviceIds: selected }, plural(selected.length, 'device'))}
          >
            Continue selected ({selected.length})
          </button>
          {d.status === 'active' ? (
            <button type="button" disabled={busy} onClick={() => onAction({ kind: 'pause' })}>
              Pause
            </button>
          ) : (
            <button type="button" disabled={busy} onClick={() => onAction({ kind: 'resume' })}>
              Resume
            </button>
          )}
        </div>
      )}
      {r && (
        <dl className="summary">
          <dt>Pauses</dt>
          <dd>{r.pauseBefore.length ? r.pauseBefore.map((s) => `before ${s}`).join(', ') : 'none'}</dd>
          {r.window && (
            <>
              <dt>Window</dt>
              <dd data-testid="window">
                {describeWindow(r.window)} ·{' '}
                {r.windowOpen ? `open until ${new Date(r.windowEndsMs).toLocaleString()}` : r.nextWindowMs ? `next opens ${new Date(r.nextWindowMs).toLocaleString()}` : 'no next window'}
              </dd>
            </>
          )}
          {(r.maxFailures.count > 0 || r.maxFailures.percent > 0 || r.retries > 0) && (
            <>
              <dt>Failures</dt>
              <dd>
                {r.maxFailures.percent ? `halt above ${r.maxFailures.percent}%` : r.maxFailures.count ? `halt above ${plural(r.maxFailures.count, 'device')}` : 'no threshold'}
                {r.retries > 0 && `, ${plural(r.retries, 'retry')} per device`}
              </dd>
            </>
          )}
          {r.dynamicGroup && (
            <>
              <dt>Dynamic group</dt>
              <dd>
                {r.dynamicGroup}
                {r.maxDevices > 0 && ` (at most ${plural(r.maxDevices, 'device')})`}
              </dd>
            </>
          )}
        </dl>
      )}
      {r && r.phases.length > 0 && (
        <div className="phase-bars" role="list" aria-label="Phases">
          {r.phases.map((p) => {
            const done = doneCount(p.counts);
            const text = `${done} of ${plural(p.total, 'device')} done${p.status === 'waiting' ? ', waiting' : ''}`;
            return (
              <div role="listitem" key={p.number} data-testid={`phase-${p.number}`} data-phase-status={p.status} style={{ display: 'contents' }}>
                <span>
                  Phase {p.number} <span className="muted">({describePhase(p.spec, p.number - 1, p.number === r.phases.length)})</span>
                </span>
                <ProgressBar value={p.total ? done / p.total : 0} label={`Phase ${p.number}`} text={text} tone={p.status === 'waiting' ? 'neutral' : 'progress'} />
                <span className="muted">{text}</span>
              </div>
            );
          })}
        </div>
      )}
      <div className="stage-bars" role="list" aria-label="Stages">
        {STAGES.map((s) => (
          <div role="listitem" key={s} style={{ display: 'contents' }}>
            <span>{s}</span>
            <ProgressBar value={d.total ? stages[s] / d.total : 0} label={`Devices ${s}`} text={`${stages[s]} of ${d.total}`} tone={s === 'failed' ? 'bad' : s === 'paused' ? 'paused' : s === 'committed' ? 'ok' : 'progress'} />
            <span className="muted" data-testid={`stage-${s}`}>
              {stages[s]} of {d.total}
            </span>
          </div>
        ))}
      </div>
    </section>
  );
}
