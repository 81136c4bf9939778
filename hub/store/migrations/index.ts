import { migration0001 } from './0001-initial';
import { migration0002 } from './0002-artifacts';
import { migration0003 } from './0003-deployments';
import { migration0004 } from './0004-rollouts';
import { migration0005 } from './0005-group-windows';
import { migration0006 } from './0006-remote-sessions';
import { migration0007 } from './0007-rollout-indexes';
import { migration0008 } from './0008-recording-retention';
import type { Migration } from './migration';

/** Every migration, in version order. Append new ones; never edit applied ones. */
export const migrations: Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007, migration0008];
