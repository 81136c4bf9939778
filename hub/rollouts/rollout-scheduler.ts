import type { DeploymentDispatcher } from '../deployments/deployment-dispatcher';
import type { HubStore } from '../store/store';
import type { Clock } from './clock';
import { maintenanceWindow } from './maintenance-window';

/** How often the hub looks at phase start times and maintenance windows. */
export const ROLLOUT_TICK_MS = 1000;

// The time-driven part of rollouts: phases that start at a time, and
// maintenance windows opening (devices waiting before install or reboot get
// their continue). Looks only at deployments that are active or halted, and
// reads their phases only when one waits for a time.
export class RolloutScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Deployment id -> whether its window was open at the last tick (absent: not looked at yet). */
  private readonly windowOpen = new Map<string, boolean>();

  constructor(
    private readonly store: HubStore,
    private readonly dispatcher: DeploymentDispatcher,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
    private readonly tickMs = ROLLOUT_TICK_MS,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One look at every open deployment; ticks never overlap. */
  tick(): Promise<void> {
    this.running = this.running.then(() => this.check()).catch((err) => this.log(`rollout scheduler: ${(err as Error).message}`));
    return this.running;
  }

  private async check(): Promise<void> {
    const now = this.clock.now();
    const open = await this.store.openRollouts();
    const seen = new Set<string>();
    for (const d of open) {
      seen.add(d.id);
      const { rollout } = d;
      if (d.status === 'active' && rollout.phases.some((p) => p.startMs > 0 && p.startMs <= now)) {
        const phases = await this.store.deploymentPhases(d.id);
        for (const p of phases) {
          const spec = rollout.phases[p.number - 1];
          if (p.startedMs || !spec || !spec.startMs || spec.startMs > now) continue;
          if (await this.store.startPhase(d.id, p.number, 'hub', `scheduled for ${new Date(spec.startMs).toISOString()}`)) {
            this.log(`deployment ${d.id}: phase ${p.number} started at its time`);
            await this.dispatcher.onPhaseStarted({ deploymentId: d.id, phase: p.number });
          }
        }
      }
      if (rollout.window) {
        const isOpen = maintenanceWindow(rollout.window).state(now).open;
        const was = this.windowOpen.get(d.id);
        this.windowOpen.set(d.id, isOpen);
        if (isOpen && was !== true && d.status === 'active') {
          const sent = await this.dispatcher.releasePaused(d.id);
          this.log(`deployment ${d.id}: maintenance window open, ${sent} waiting devices told to go on`);
        }
      }
    }
    for (const id of this.windowOpen.keys()) if (!seen.has(id)) this.windowOpen.delete(id);
  }
}
