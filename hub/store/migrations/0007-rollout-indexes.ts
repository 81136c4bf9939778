import type { Migration } from './migration';

// Indexes for what a large rollout asks after every batch of final reports:
// the devices per phase and status (thresholds, automatic phase starts) read
// from the index alone, and whether any device of a deployment is still
// open answered from a partial index in one step instead of counting them.
export const migration0007: Migration = {
  version: 7,
  name: 'indexes for rollout progress: devices by phase and status, open devices by deployment',
  up(db) {
    db.exec(`
      CREATE INDEX deployment_devices_phase ON deployment_devices (deployment_id, phase, status);
      CREATE INDEX deployment_devices_unfinished ON deployment_devices (deployment_id) WHERE finished = 0;
    `);
  },
};
