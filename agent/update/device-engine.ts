import type { DeviceAgent } from '../agent';
import type { Bootloader } from '../bootloader/bootloader';
import { createBootloader } from '../bootloader/detect';
import { readTrustedKeys, type AgentConfig } from '../config';
import { deviceInstallers } from './device-installers';
import { commandReboot, linuxBootId } from './reboot';
import { scriptCheck, systemdUnitCheck } from './health-checks';
import { createHookRunner } from './hook-runner';
import { UpdateEngine } from './update-engine';

// The update engine of a real device, built from its config: the installers
// it has (rootfs with slots + bootloader, apps, modules), its hooks, health
// checks and reboot command. Downloads go through the agent's connection.

export interface DeviceUpdates {
  engine: UpdateEngine;
  /** The provides and the running slot, for inventory. */
  inventory(): Promise<Record<string, string>>;
}

export function createDeviceUpdates(config: AgentConfig, agent: () => DeviceAgent, log: (line: string) => void): DeviceUpdates {
  const u = config.update;
  let bootloader: Promise<Bootloader> | undefined;
  const getBootloader = u.bootloader
    ? (): Promise<Bootloader> => {
        bootloader ??= createBootloader(u.bootloader!, { stateDir: config.stateDir }).catch((err) => {
          bootloader = undefined;
          throw err;
        });
        return bootloader;
      }
    : undefined;
  const engine = new UpdateEngine({
    stateDir: config.stateDir,
    deviceType: config.deviceType,
    trustedKeys: readTrustedKeys(u.trustedArtifactKeys),
    installers: deviceInstallers({ bootloader: getBootloader, slots: u.slots, appsDir: u.appsDir, modulesDir: u.modulesDir }),
    bootloader: getBootloader,
    hooks: (req) => createHookRunner({ hooksDir: u.hooksDir, artifactHooksDir: req.artifactHooksDir, artifactHooks: req.manifest?.hooks, log: req.log }),
    healthChecks: [...u.healthCheck.units.map((unit) => systemdUnitCheck(unit)), ...u.healthCheck.scripts.map((script) => scriptCheck(script))],
    healthTimeoutMs: u.healthCheck.timeoutSeconds * 1000,
    reboot: commandReboot(u.rebootCommand),
    bootId: linuxBootId,
    download: (artifactId, offset, size) => agent().download(artifactId, offset, size),
    onProvidesChanged: () => agent().inventoryChanged(),
    log: (line) => log(`update: ${line}`),
  });
  return {
    engine,
    async inventory() {
      const out = { ...(await engine.provides()) };
      if (getBootloader && u.slots) {
        try {
          out['rootfs.active'] = (await (await getBootloader()).state()).active;
        } catch (err) {
          log(`update: cannot read the bootloader state: ${(err as Error).message}`);
        }
      }
      return out;
    },
  };
}
