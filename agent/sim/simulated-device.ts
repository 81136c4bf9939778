import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeviceAgent } from '../agent';
import { writeFileAtomic } from '../atomic-write';
import type { BackoffOptions } from '../backoff';
import type { Slot } from '../bootloader/bootloader';
import { readActiveSlot } from '../bootloader/kernel-cmdline';
import { cmdlineFile, envFile, simBootloader, simulateBoot } from '../bootloader/sim-bootloader';
import type { ControlChannel } from '../control-channel';
import type { DeviceMessage, HubMessage } from '../../proto/gen/fleet/v1/device';
import { RemoteLink } from '../remote-link/remote-link';
import { RemoteSessions } from '../remote/remote-sessions';
import { crashPoint } from '../update/fault-injection';
import type { HealthCheck } from '../update/health-checks';
import { deviceInstallers } from '../update/device-installers';
import { createHookRunner } from '../update/hook-runner';
import { StateStore } from '../update/state-store';
import { UpdateEngine } from '../update/update-engine';
import { deviceRemoteConfig, makeOwnRoots, type DeviceRemoteConfig, type SimRemoteConfig } from './sim-remote';
import { simIdentity, simInventory } from './sim-device';
import type { Slots } from './slots';
import { FACTORY_VERSION, SIM_ROOTFS_GROUP, SIM_ROOTFS_HEADER_BYTES, factoryImage, parseSimRootfsHeader } from './sim-rootfs';
import { remoteInventory } from '../remote/remote-inventory';

// One simulated device with real updates: its root filesystem slots are the
// files slots/a.img and slots/b.img, its bootloader the simulator's
// file-backed U-Boot (bootloader/env + cmdline). A factory-fresh device has
// none of these: they are made (factory image in slot a, first boot) when
// its first deployment needs them, so 10,000 idle devices cost no disk and
// no update engine. Power-on = simulateBoot (bootcount, fallback), then the
// agent starts; an image made with boots=false never starts it, so the
// watchdog powers the device on again until the bootloader falls back.
// Reboot = stop the agent, power on, start a new agent, in this process.

export interface SimulatedDeviceOptions {
  index: number;
  name: string;
  stateDir: string;
  hub: string;
  caPem: string;
  deviceType: string;
  trustedArtifactKeys: readonly string[];
  inventoryIntervalMs: number;
  backoff?: BackoffOptions;
  /** Boot limit of the simulated U-Boot (default 1). */
  bootlimit?: number;
  /** Health-check time after a reboot (default 60 s). */
  healthTimeoutMs?: number;
  /** Update modules shared by the simulated devices (modulesDir/<name> for module:<name>); none: module payloads are incompatible. */
  modulesDir?: string;
  /** Device state hooks shared by the simulated devices (<State>_<Moment>_<NN>). */
  hooksDir?: string;
  /** Whether this device's health check fails after an update whatever its image (SimulatorOptions.failHealth). */
  failHealth?: (index: number) => boolean;
  /** Remote sessions this device serves (relative file roots inside its state folder); none: it refuses them all (`disabled`). */
  remote?: SimRemoteConfig;
  /** Shared by the simulator's devices: a reboot holds one from power-off until its new agent is online (REBOOT_HOLD_MS at most). */
  rebootSlots?: Slots;
  /** Shared by the simulator's devices: a deployment command waits for one, held until the device reports a pause, a reboot or an end (UPDATE_HOLD_MS at most). */
  updateSlots?: Slots;
  log?: (line: string) => void;
}

/** What a factory-fresh simulated device provides. */
export const FACTORY_PROVIDES: Readonly<Record<string, string>> = {
  [`artifact.${SIM_ROOTFS_GROUP}.name`]: SIM_ROOTFS_GROUP,
  [`artifact.${SIM_ROOTFS_GROUP}.version`]: FACTORY_VERSION,
};

/** Power-ons in a row of a system that never comes up before the simulator gives up on the device. */
const MAX_DEAD_BOOTS = 10;
/** Longest a reboot holds its slot waiting for the new agent to come online. */
const REBOOT_HOLD_MS = 20_000;
/** Longest a device holds an update slot without reporting a pause, a reboot or an end. */
const UPDATE_HOLD_MS = 60_000;
/** Reports after which a device's update work no longer needs the simulator's CPU. */
const RESTING: ReadonlySet<string> = new Set(['paused-before-install', 'paused-before-reboot', 'paused-before-commit', 'rebooting', 'success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted']);

export class SimulatedDevice {
  agent: DeviceAgent;
  /** Shell, file and port sessions; they outlive an agent (not a reboot). */
  readonly remote: RemoteSessions;
  private readonly remoteConfig: DeviceRemoteConfig;
  private link!: RemoteLink;
  private engine?: UpdateEngine;
  private send?: Parameters<ControlChannel['online']>[0];
  private bootId = randomUUID();
  private readonly bootDir: string;
  private readonly slotsDir: string;
  private readonly store: StateStore;
  private rebooting?: Promise<void>;
  private closed = false;
  /** Aborted by stop(): a reboot waiting for a slot gives up. */
  private readonly closing = new AbortController();
  /** The update slot this device holds, and its safety timer. */
  private updateSlot?: { release: () => void; timer: NodeJS.Timeout };
  /** Hub messages that came while a deployment command waited for its slot: delivered after it, in order. */
  private deferred?: HubMessage[];

  constructor(private readonly o: SimulatedDeviceOptions) {
    this.bootDir = join(o.stateDir, 'bootloader');
    this.slotsDir = join(o.stateDir, 'slots');
    this.store = new StateStore(o.stateDir);
    this.remoteConfig = deviceRemoteConfig(o.remote, o.stateDir);
    this.remote = new RemoteSessions(this.remoteConfig.config);
    this.agent = this.makeAgent();
  }

  slotFile(slot: Slot): string {
    return join(this.slotsDir, `${slot}.img`);
  }

  /** Power-on: boots a provisioned device through its bootloader, resumes its deployment, starts the agent. */
  async start(): Promise<void> {
    await makeOwnRoots(this.remoteConfig);
    if (exists(envFile(this.bootDir))) {
      if (!(await this.powerOn())) return;
    }
    if (exists(join(this.store.dir, 'state.json'))) this.ensureEngine();
    await this.engine?.start();
    if (!this.closed) this.agent.start();
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.releaseUpdateSlot();
    await this.rebooting;
    await this.link.stop('device stopping');
    await this.agent.stop();
    await this.engine?.stop();
  }

  private makeAgent(): DeviceAgent {
    const o = this.o;
    const link = new RemoteLink({ sessions: this.remote, dial: (channelId) => agent.channel(channelId), log: o.log && ((line) => o.log!(`${o.name}: remote: ${line}`)) });
    this.link = link;
    const control: ControlChannel = {
      online: (send) => {
        const watched = this.watchReports(send);
        this.send = watched;
        link.online(send);
        this.engine?.online(watched);
      },
      offline: () => {
        this.send = undefined;
        link.offline();
        this.engine?.offline();
      },
      message: (msg) => {
        if (link.message(msg)) return;
        this.onUpdateMessage(msg);
      },
    };
    const agent: DeviceAgent = new DeviceAgent({
      hub: o.hub,
      caPem: o.caPem,
      stateDir: o.stateDir,
      // Called only after the agent loaded its key, so publicKey is set.
      identity: () => simIdentity(o.deviceType, agent.publicKey!),
      inventory: () => this.inventory(agent.publicKey!),
      inventoryIntervalMs: o.inventoryIntervalMs,
      durableKey: false,
      backoff: o.backoff,
      control,
      log: o.log && ((line) => o.log!(`${o.name}: ${line}`)),
    });
    return agent;
  }

  /**
   * Deployment messages for the update engine. With update slots, a
   * deployment command waits for one (see SimulatorOptions.concurrentUpdates)
   * and what comes after it waits behind it, in order.
   */
  private onUpdateMessage(msg: HubMessage): void {
    if (this.deferred) {
      this.deferred.push(msg);
      return;
    }
    const slots = this.o.updateSlots;
    if (msg.msg?.$case !== 'deployment' || !slots || this.updateSlot) {
      this.deliver(msg);
      return;
    }
    this.deferred = [msg];
    void slots.acquire(this.closing.signal).then((release) => {
      const waiting = this.deferred ?? [];
      this.deferred = undefined;
      if (this.closed) return release();
      this.updateSlot = { release, timer: setTimeout(() => this.releaseUpdateSlot(), UPDATE_HOLD_MS) };
      for (const m of waiting) this.deliver(m);
    });
  }

  private deliver(msg: HubMessage): void {
    if (msg.msg?.$case === 'deployment' && !this.engine) void this.ensureEngine().start();
    this.engine?.message(msg);
  }

  /** The engine's messages to the hub, watched for the report that ends its use of an update slot. */
  private watchReports(send: (msg: DeviceMessage) => void): (msg: DeviceMessage) => void {
    return (msg) => {
      send(msg);
      if (msg.msg?.$case === 'update' && RESTING.has(msg.msg.update.status)) this.releaseUpdateSlot();
    };
  }

  private releaseUpdateSlot(): void {
    const slot = this.updateSlot;
    if (!slot) return;
    this.updateSlot = undefined;
    clearTimeout(slot.timer);
    slot.release();
  }

  private async inventory(publicKey: Buffer): Promise<Record<string, string>> {
    const provides = (await this.store.loadProvides()) ?? FACTORY_PROVIDES;
    const active = await readActiveSlot(cmdlineFile(this.bootDir)).catch(() => 'a');
    return { ...simInventory(this.o.index, publicKey), ...provides, 'rootfs.active': active, ...remoteInventory(this.remoteConfig.config) };
  }

  private ensureEngine(): UpdateEngine {
    if (this.engine) return this.engine;
    const o = this.o;
    // durable: false, as for the identity key: a simulated device never loses
    // power (a kill -9 keeps what was written), and 10,000 devices fsyncing
    // each state change measure the shared disk, not the hub.
    const installers = deviceInstallers({
      durable: false,
      bootloader: () => this.bootloader(),
      slots: { a: this.slotFile('a'), b: this.slotFile('b') },
      appsDir: join(o.stateDir, 'apps'),
      modulesDir: o.modulesDir,
    });
    const engine = new UpdateEngine({
      stateDir: o.stateDir,
      deviceType: o.deviceType,
      trustedKeys: o.trustedArtifactKeys,
      installers,
      bootloader: () => this.bootloader(),
      hooks: (req) => createHookRunner({ hooksDir: o.hooksDir, artifactHooksDir: req.artifactHooksDir, artifactHooks: req.manifest?.hooks, log: req.log }),
      healthChecks: [this.healthCheck()],
      healthTimeoutMs: o.healthTimeoutMs ?? 60_000,
      durable: false,
      reboot: async () => {
        // After the engine returns from this call: it must not wait for its own stop.
        setImmediate(() => {
          if (!this.rebooting && !this.closed) this.rebooting = this.reboot().finally(() => (this.rebooting = undefined));
        });
      },
      bootId: async () => this.bootId,
      factoryProvides: FACTORY_PROVIDES,
      download: (artifactId, offset, size) => this.agent.download(artifactId, offset, size),
      onProvidesChanged: () => this.agent.inventoryChanged(),
      log: o.log && ((line) => o.log!(`${o.name}: update: ${line}`)),
    });
    this.engine = engine;
    if (this.send) engine.online(this.send);
    return engine;
  }

  /** The device's bootloader; the first one makes the factory slots and boots them. */
  private async bootloader(): Promise<ReturnType<typeof simBootloader>> {
    if (!exists(envFile(this.bootDir))) {
      await mkdir(this.slotsDir, { recursive: true });
      await writeFileAtomic(this.slotFile('a'), factoryImage(), 0o644, { durable: false });
      crashPoint('sim:factory-image');
      if (!exists(this.slotFile('b'))) await writeFile(this.slotFile('b'), '');
      await simulateBoot(this.bootDir, { bootlimit: this.o.bootlimit });
    }
    return simBootloader({ dir: this.bootDir, bootlimit: this.o.bootlimit });
  }

  /** The simulated system's own health: what its image header says. */
  private healthCheck(): HealthCheck {
    return {
      name: 'simulated system services',
      run: async () => {
        const slot = await readActiveSlot(cmdlineFile(this.bootDir));
        const header = await this.imageHeader(slot);
        if (!header) throw new Error(`slot ${slot} holds no system image`);
        if (!header.healthy) throw new Error(`FleetOS ${header.version} in slot ${slot} reports its services unhealthy`);
        if (this.o.failHealth?.(this.o.index)) throw new Error(`FleetOS ${header.version} in slot ${slot}: simulated health-check failure of device ${this.o.index}`);
      },
    };
  }

  private async imageHeader(slot: Slot): Promise<ReturnType<typeof parseSimRootfsHeader>> {
    const fh = await open(this.slotFile(slot), 'r').catch(() => null);
    if (!fh) return null;
    try {
      const buf = Buffer.alloc(SIM_ROOTFS_HEADER_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return parseSimRootfsHeader(buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  }

  /** simulateBoot until a system comes up; false if none does. */
  private async powerOn(): Promise<boolean> {
    for (let attempt = 1; attempt <= MAX_DEAD_BOOTS; attempt++) {
      const boot = await simulateBoot(this.bootDir, { bootlimit: this.o.bootlimit });
      this.bootId = randomUUID();
      if (boot.fellBack) this.o.log?.(`${this.o.name}: bootloader: boot limit exceeded, back to slot ${boot.slot}`);
      const header = await this.imageHeader(boot.slot);
      if (header?.boots) return true;
      this.o.log?.(`${this.o.name}: slot ${boot.slot} does not come up (${header ? `FleetOS ${header.version} panics` : 'no system image'}); the watchdog resets the device`);
    }
    this.o.log?.(`${this.o.name}: no slot comes up after ${MAX_DEAD_BOOTS} power-ons; the device stays off`);
    return false;
  }

  private async reboot(): Promise<void> {
    this.releaseUpdateSlot();
    let release = await this.o.rebootSlots?.acquire(this.closing.signal);
    try {
      crashPoint('sim:reboot');
      await this.link.stop('device rebooting');
      await this.agent.stop();
      await this.engine?.stop();
      this.engine = undefined;
      this.send = undefined;
      if (this.closed) return;
      if (!(await this.powerOn())) return;
      crashPoint('sim:booted');
      this.agent = this.makeAgent();
      if (this.closed) return;
      const engine = exists(join(this.store.dir, 'state.json')) ? this.ensureEngine() : undefined;
      await engine?.start();
      if (this.closed) return;
      this.agent.start();
      // The slot goes back once the new agent is online (its TLS handshake
      // and Hello are the costly part), without holding up the reboot itself.
      if (release) this.onceOnline(this.agent, REBOOT_HOLD_MS, release);
      release = undefined;
    } catch (err) {
      this.o.log?.(`${this.o.name}: reboot failed: ${(err as Error).message}`);
    } finally {
      release?.();
    }
  }

  /** Calls `then` once `agent` is online or stopped, after `ms`, or when the device stops. */
  private onceOnline(agent: DeviceAgent, ms: number, then: () => void): void {
    if (agent.state === 'online' || this.closed) return then();
    const done = (): void => {
      clearTimeout(timer);
      agent.off('state', onState);
      this.closing.signal.removeEventListener('abort', done);
      then();
    };
    const onState = (state: string): void => {
      if (state === 'online' || state === 'stopped') done();
    };
    const timer = setTimeout(done, ms);
    agent.on('state', onState);
    this.closing.signal.addEventListener('abort', done, { once: true });
  }
}

/**
 * Whether a file exists, without an exception for "no": the promise API
 * builds an ENOENT error (with its stack) for every missing file, and a
 * fresh simulated device asks about several; 10,000 of them at once made
 * this ~8 % of a simulator's CPU. A stat of a local file is microseconds.
 */
function exists(path: string): boolean {
  return existsSync(path);
}
