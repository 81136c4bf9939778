import type { MaintenanceWindow } from '../../common/console-api';
import { nextCronTime, parseCron } from '../../../hub/rollouts/cron';

// The wizard shows when a window would open next. The hub's own cron parser
// answers, so the console shows exactly the opening the hub will use, and it
// needs no hub round trip while the operator types.
export function nextWindow(window: MaintenanceWindow, nowMs: number): { nextMs: number; error: string } {
  try {
    if (!window || typeof window.cron !== 'string' || !window.cron.trim()) return { nextMs: 0, error: 'no schedule: give a cron expression' };
    const at = nextCronTime(parseCron(window.cron.trim(), typeof window.timeZone === 'string' ? window.timeZone.trim() : ''), nowMs);
    return at === undefined ? { nextMs: 0, error: 'this schedule never opens' } : { nextMs: at, error: '' };
  } catch (err) {
    return { nextMs: 0, error: (err as Error).message };
  }
}
