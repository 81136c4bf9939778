import type { Migration } from '../migration';
import { migration0001Devices } from './0001-devices';

/** Every cache migration, in order. Append new steps; never edit old ones. */
export const cacheMigrations: readonly Migration[] = [migration0001Devices];
