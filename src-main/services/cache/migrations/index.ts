import type { Migration } from '../migration';
import { migration0001Devices } from './0001-devices';
import { migration0002HostKeys } from './0002-host-keys';

/** Every cache migration, in order. Append new steps; never edit old ones. */
export const cacheMigrations: readonly Migration[] = [migration0001Devices, migration0002HostKeys];
