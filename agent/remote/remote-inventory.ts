import type { RemoteConfig } from './remote-config';

// What the device tells the hub about its remote-session settings, as
// inventory keys: the console shows which features a device offers and
// browses its allowed folders without guessing.
//   remote.shell, remote.files, remote.port_forward: on | off
//   remote.files.roots: the allowed folders, comma-separated (only when files are on)
export function remoteInventory(config: RemoteConfig): Record<string, string> {
  const onOff = (enabled: boolean) => (enabled ? 'on' : 'off');
  const inventory: Record<string, string> = {
    'remote.shell': onOff(config.shell.enabled),
    'remote.files': onOff(config.files.enabled),
    'remote.port_forward': onOff(config.portForward.enabled),
  };
  if (config.files.enabled) inventory['remote.files.roots'] = config.files.roots.join(',');
  return inventory;
}
