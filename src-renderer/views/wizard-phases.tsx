import { toLocalTime, type PhaseRow } from '../format/rollout-plan';

// The wizard's phases: ordered rows, each a percent or a count of the
// target devices (not cumulative; the last takes the rest), started after
// the previous phase succeeded, by hand or at a date and time, each with
// its own failure threshold if wanted (besides the deployment's).

const MAX_PHASES = 20;

export function WizardPhases({ phases, onChange }: { phases: PhaseRow[]; onChange: (phases: PhaseRow[]) => void }) {
  const set = (i: number, change: Partial<PhaseRow>) => onChange(phases.map((p, j) => (j === i ? { ...p, ...change } : p)));
  return (
    <fieldset className="wizard-phases">
      <legend>Phases</legend>
      <p className="muted">Each device is in exactly one phase, chosen reproducibly. The last phase takes every remaining device.</p>
      <ol className="phase-rows">
        {phases.map((p, i) => {
          const n = i + 1;
          const last = i === phases.length - 1;
          return (
            <li key={i} role="group" aria-label={`Phase ${n}`} className="phase-row">
              <span className="phase-name">Phase {n}</span>
              <input aria-label={`Size of phase ${n}`} inputMode="numeric" value={p.size} onChange={(e) => set(i, { size: e.target.value })} />
              <select aria-label={`Unit of phase ${n}`} value={p.unit} onChange={(e) => set(i, { unit: e.target.value as PhaseRow['unit'] })}>
                <option value="percent">% of devices</option>
                <option value="count">devices</option>
              </select>
              <select aria-label={`Start of phase ${n}`} value={p.start} onChange={(e) => set(i, startChange(e.target.value as PhaseRow['start'], p))}>
                <option value="auto">{i === 0 ? 'at once' : `when phase ${i} succeeded`}</option>
                {i > 0 && <option value="manual">on Continue</option>}
                <option value="time">at a time</option>
              </select>
              {p.start === 'time' && <input type="datetime-local" aria-label={`Start time of phase ${n}`} value={p.at ?? ''} onChange={(e) => set(i, { at: e.target.value })} />}
              <input aria-label={`Failures that halt phase ${n}`} inputMode="numeric" placeholder="halt above" title="Failures in this phase that halt the deployment (empty: only the overall threshold)" className="phase-failures" value={p.maxFailures ?? ''} onChange={(e) => set(i, { maxFailures: e.target.value })} />
              <select aria-label={`Failure unit of phase ${n}`} value={p.maxFailuresUnit ?? 'percent'} onChange={(e) => set(i, { maxFailuresUnit: e.target.value as PhaseRow['unit'] })}>
                <option value="percent">% failed</option>
                <option value="count">failed</option>
              </select>
              {last && i > 0 && <span className="muted">(takes the rest)</span>}
              <button type="button" aria-label={`Remove phase ${n}`} disabled={phases.length === 1} onClick={() => onChange(phases.filter((_, j) => j !== i))}>
                ×
              </button>
            </li>
          );
        })}
      </ol>
      <button type="button" disabled={phases.length >= MAX_PHASES} onClick={() => onChange([...phases, { size: '100', unit: 'percent', start: 'auto' }])}>
        Add phase
      </button>
    </fieldset>
  );
}

/** Picking "at a time" proposes the next full hour, so the field is never empty at first. */
function startChange(start: PhaseRow['start'], p: PhaseRow): Partial<PhaseRow> {
  if (start !== 'time' || p.at) return { start };
  const hour = new Date();
  hour.setHours(hour.getHours() + 1, 0, 0, 0);
  return { start, at: toLocalTime(hour.getTime()) };
}
