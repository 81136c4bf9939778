import type { ConsoleApi, GroupWindowRow, MaintenanceWindow } from '../../common/console-api';
import type { ConsoleServiceClient, GroupWindow } from '../../../proto/gen/fleet/v1/console';
import type { HubSession } from '../connection/hub-session';
import { unary } from '../hub-client/hub-connection';

type GroupWindowActions = Pick<ConsoleApi['groups'], 'setWindow' | 'windows'>;

const MINUTE_MS = 60_000;
const WEEK_MS = 7 * 24 * 3600_000;

// Maintenance windows on groups: a deployment created to a static or
// dynamic group without a window of its own takes the group's (hub side,
// docs/rollouts.md). The hub judges the cron expression and time zone; the
// shapes are checked here so a mistake reads as the operator's, not the wire's.
export function groupWindowActions(session: HubSession): GroupWindowActions {
  const list = (client: ConsoleServiceClient, token: string) =>
    unary(client, client.listGroupWindows, {}, token).then((res) => res.windows.map(toRow).sort(byGroup));
  return {
    windows: () => session.call('listing group windows', list),
    setWindow: (group, dynamic, window) =>
      session.call('setting a group window', async (client, token) => {
        await unary(client, client.setGroupWindow, { group: checkGroup(group), dynamic: dynamic === true, window: window === null ? undefined : checkWindow(window) }, token);
        return list(client, token);
      }),
  };
}

function toRow(w: GroupWindow): GroupWindowRow {
  return { group: w.group, dynamic: w.dynamic, window: { cron: w.window?.cron ?? '', durationMs: w.window?.durationMs ?? 0, timeZone: w.window?.timeZone ?? '' }, setBy: w.setBy, setMs: w.setMs };
}

const byGroup = (a: GroupWindowRow, b: GroupWindowRow) => Number(a.dynamic) - Number(b.dynamic) || a.group.localeCompare(b.group);

function checkGroup(group: unknown): string {
  if (typeof group !== 'string' || !group.trim()) throw new Error('the window needs a group name');
  return group.trim();
}

function checkWindow(w: MaintenanceWindow): MaintenanceWindow {
  if (!w || typeof w.cron !== 'string' || w.cron.trim().split(/\s+/).length !== 5) throw new Error('a window opens at a cron expression of 5 fields: minute hour day month weekday');
  if (!Number.isFinite(w.durationMs) || w.durationMs < MINUTE_MS || w.durationMs > WEEK_MS) throw new Error('a window lasts from 1 minute to 7 days');
  return { cron: w.cron.trim(), durationMs: Math.round(w.durationMs), timeZone: typeof w.timeZone === 'string' ? w.timeZone.trim() : '' };
}
