import type { DeploymentDispatcher } from '../deployments/deployment-dispatcher';
import { initialStatus } from '../deployments/initial-status';
import type { DeviceRecord, HubEvent, HubStore } from '../store/store';
import { compileQuery, type DeviceMatcher } from './device-query';

/** Device changes that may change what a dynamic group matches. */
const RELEVANT = new Set(['device.inventory', 'device.admission', 'device.preauthorized']);

// Keeps deployments to dynamic groups in step with the fleet: a device that
// comes to match (inventory changed, or it was accepted) joins every open
// deployment to such a group, in its last phase, up to max_devices; a device
// that stops matching before it started leaves it. Work runs one device
// change at a time, after the change is committed.
export class DynamicTargets {
  private queue: Promise<void> = Promise.resolve();
  private readonly matchers = new Map<string, DeviceMatcher>();

  constructor(
    private readonly store: HubStore,
    private readonly dispatcher: DeploymentDispatcher,
    private readonly log: (line: string) => void,
  ) {}

  /** Store listener (sync): queues the device snapshots of relevant events. */
  onEvents(events: HubEvent[]): void {
    for (const e of events) {
      if (!e.device || !RELEVANT.has(e.kind)) continue;
      const device = e.device;
      this.queue = this.queue.then(() => this.reconsider(device)).catch((err) => this.log(`dynamic groups: device ${device.id}: ${(err as Error).message}`));
    }
  }

  /** Resolves when the queued work is done (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private async reconsider(device: DeviceRecord): Promise<void> {
    for (const d of await this.store.openRollouts()) {
      const query = d.rollout.dynamicQuery;
      if (!d.rollout.dynamicGroup || !query) continue;
      const matches = this.matcher(JSON.stringify(query), () => compileQuery(query))(device);
      const target = await this.store.getDeploymentDevice(d.id, device.id);
      if (matches && !target) {
        const artifact = await this.store.getArtifact(d.artifactId);
        if (!artifact) continue;
        const joined = await this.store.joinDeployment(d.id, { deviceId: device.id, ...initialStatus(device, artifact, d.force) }, 'hub');
        if (!joined) continue;
        this.log(`device ${device.id} joined deployment ${d.id} (dynamic group ${d.rollout.dynamicGroup}) as ${joined.status}`);
        if (joined.status === 'pending') await this.dispatcher.onJoined(device.id, d.id);
      } else if (!matches && target?.status === 'pending' && (await this.store.leaveDeployment(d.id, device.id, 'hub'))) {
        this.log(`device ${device.id} left deployment ${d.id} before starting: it no longer matches dynamic group ${d.rollout.dynamicGroup}`);
        this.dispatcher.onLeft(device.id, d.id);
      }
    }
  }

  private matcher(key: string, make: () => DeviceMatcher): DeviceMatcher {
    let m = this.matchers.get(key);
    if (!m) {
      m = make();
      if (this.matchers.size > 200) this.matchers.clear();
      this.matchers.set(key, m);
    }
    return m;
  }
}
