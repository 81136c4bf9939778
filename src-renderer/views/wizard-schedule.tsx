import { useEffect, useState } from 'react';
import { PAUSE_STAGES, type PauseStage } from '../../src-main/common/console-api';
import { fleet } from '../api';
import type { PlanRows } from '../format/rollout-plan';

// The wizard's pauses (devices stop before a stage until continued), the
// maintenance window (install and reboot only inside it; the services say
// when it opens next, with the hub's own cron rules) and failure handling.

const STAGE_LABELS: Record<PauseStage, string> = { install: 'Before install', reboot: 'Before reboot', commit: 'Before commit' };

export function WizardSchedule({ plan, onChange }: { plan: PlanRows; onChange: (plan: PlanRows) => void }) {
  const set = (change: Partial<PlanRows>) => onChange({ ...plan, ...change });
  const setWindow = (change: Partial<PlanRows['window']>) => set({ window: { ...plan.window, ...change } });
  const toggle = (stage: PauseStage, on: boolean) => set({ pauseBefore: PAUSE_STAGES.filter((s) => (s === stage ? on : plan.pauseBefore.includes(s))) });
  const next = useNextWindow(plan.window);
  return (
    <div className="wizard-schedule">
      <fieldset>
        <legend>Pause devices</legend>
        <p className="muted">Devices stop there and wait until you press Continue (for the deployment, a phase or single devices).</p>
        {PAUSE_STAGES.map((stage) => (
          <label key={stage} className="check">
            <input type="checkbox" checked={plan.pauseBefore.includes(stage)} onChange={(e) => toggle(stage, e.target.checked)} /> {STAGE_LABELS[stage]}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Maintenance window</legend>
        <label className="check">
          <input type="checkbox" checked={plan.window.enabled} onChange={(e) => setWindow({ enabled: e.target.checked })} /> Install and reboot only inside a window (downloads
          happen any time)
        </label>
        {plan.window.enabled && (
          <div className="window-fields">
            <label className="field">
              Opens at (cron: minute hour day month weekday)
              <input value={plan.window.cron} onChange={(e) => setWindow({ cron: e.target.value })} />
            </label>
            <label className="field">
              Length (hours)
              <input inputMode="decimal" value={plan.window.hours} onChange={(e) => setWindow({ hours: e.target.value })} />
            </label>
            <label className="field">
              Time zone (IANA, empty for UTC)
              <input value={plan.window.timeZone} onChange={(e) => setWindow({ timeZone: e.target.value })} />
            </label>
            <p role="status" data-testid="next-window">
              {next}
            </p>
          </div>
        )}
      </fieldset>
      <fieldset>
        <legend>Failures</legend>
        <div className="inline-fields">
          <label className="field">
            Halt when failures exceed (empty: never)
            <input inputMode="numeric" value={plan.maxFailures} onChange={(e) => set({ maxFailures: e.target.value })} />
          </label>
          <label className="field">
            Unit
            <select value={plan.maxFailuresUnit} onChange={(e) => set({ maxFailuresUnit: e.target.value as PlanRows['maxFailuresUnit'] })}>
              <option value="percent">% of devices</option>
              <option value="count">devices</option>
            </select>
          </label>
          <label className="field">
            Retries per device
            <input inputMode="numeric" value={plan.retries} onChange={(e) => set({ retries: e.target.value })} />
          </label>
        </div>
      </fieldset>
    </div>
  );
}

/** "Next window opens …" for the window as typed (asked again as it changes). */
export function useNextWindow(w: PlanRows['window']): string {
  const [answer, setAnswer] = useState<{ key: string; text: string } | null>(null);
  const key = w.enabled ? JSON.stringify([w.cron, w.timeZone]) : '';
  useEffect(() => {
    if (!key) return;
    let stale = false;
    const [cron, timeZone] = JSON.parse(key) as [string, string];
    fleet.deployments.nextWindow({ cron, timeZone, durationMs: 0 }).then(
      (res) => !stale && setAnswer({ key, text: res.error ? `No next window: ${res.error}` : `Next window opens ${new Date(res.nextMs).toLocaleString()}` }),
      (err: Error) => !stale && setAnswer({ key, text: `Could not work out the next window: ${err.message}` }),
    );
    return () => {
      stale = true;
    };
  }, [key]);
  return key && answer?.key === key ? answer.text : '';
}
