import type { Bootloader, Slot } from '../bootloader/bootloader';
import { createAppInstaller } from './installers/app-installer';
import { createModuleInstaller } from './installers/module-installer';
import { createRootfsInstaller } from './installers/rootfs-installer';
import type { InstallerRegistry } from './installer';

// The installers a device has, by payload type: rootfs-image when it has A/B
// slots and a bootloader, app when it has an apps folder, module:<name> when
// it has a modules folder (the module installer finds modulesDir/<name>).

export interface DeviceInstallersOptions {
  bootloader?: () => Promise<Bootloader>;
  slots?: Record<Slot, string>;
  appsDir?: string;
  modulesDir?: string;
  /** fsync app releases (default true). */
  durable?: boolean;
}

export function deviceInstallers(o: DeviceInstallersOptions): InstallerRegistry {
  const rootfs = o.bootloader && o.slots ? createRootfsInstaller({ bootloader: o.bootloader, slots: o.slots }) : undefined;
  const app = o.appsDir ? createAppInstaller({ appsDir: o.appsDir, durable: o.durable }) : undefined;
  const modules = o.modulesDir ? createModuleInstaller({ modulesDir: o.modulesDir }) : undefined;
  return (type) => {
    if (type === 'rootfs-image') return rootfs;
    if (type === 'app') return app;
    if (type.startsWith('module:')) return modules;
    return undefined;
  };
}
