import type { Migration } from './migration';

// SQLite cannot change a CHECK constraint in place: the two deployment tables
// are rebuilt to allow the new statuses (halted; paused-before-*), then get
// their rollout columns. Existing deployments become one started phase.
export const migration0004: Migration = {
  version: 4,
  name: 'rollouts: phases, pauses, halts, retries, dynamic groups',
  up(db) {
    db.exec(`
      CREATE TABLE deployments_new (
        seq              INTEGER PRIMARY KEY, -- creation order
        id               TEXT NOT NULL UNIQUE,
        name             TEXT NOT NULL,
        artifact_id      TEXT NOT NULL REFERENCES artifacts (id),
        artifact_name    TEXT NOT NULL,
        artifact_version TEXT NOT NULL,
        artifact_size    INTEGER NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('active', 'halted', 'finished', 'aborted')),
        allow_downgrade  INTEGER NOT NULL,
        force            INTEGER NOT NULL,
        created          INTEGER NOT NULL,
        created_by       TEXT NOT NULL,
        finished         INTEGER NOT NULL DEFAULT 0,
        aborted          INTEGER NOT NULL DEFAULT 0,
        aborted_by       TEXT NOT NULL DEFAULT '',
        total            INTEGER NOT NULL,
        halt_reason      TEXT NOT NULL DEFAULT '',
        rollout          TEXT NOT NULL DEFAULT '{}', -- RolloutConfig as JSON
        dynamic_group    TEXT NOT NULL DEFAULT ''
      );
      INSERT INTO deployments_new (seq, id, name, artifact_id, artifact_name, artifact_version, artifact_size, status, allow_downgrade, force,
                                   created, created_by, finished, aborted, aborted_by, total)
        SELECT seq, id, name, artifact_id, artifact_name, artifact_version, artifact_size, status, allow_downgrade, force,
               created, created_by, finished, aborted, aborted_by, total FROM deployments;
      DROP TABLE deployments;
      ALTER TABLE deployments_new RENAME TO deployments;
      CREATE INDEX deployments_status ON deployments (status, seq);
      CREATE INDEX deployments_artifact ON deployments (artifact_id);
      CREATE INDEX deployments_dynamic ON deployments (dynamic_group) WHERE dynamic_group <> '';

      -- released: how far the operator let this device go on its own
      -- (0 nothing, 1 install, 2 reboot, 3 commit); attempt: retries used.
      CREATE TABLE deployment_devices_new (
        deployment_id TEXT NOT NULL REFERENCES deployments (id),
        device_id     TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'downloading', 'paused-before-install', 'installing',
                        'paused-before-reboot', 'rebooting', 'verifying', 'paused-before-commit', 'committing',
                        'success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted')),
        bytes_done    INTEGER NOT NULL DEFAULT 0,
        bytes_total   INTEGER NOT NULL DEFAULT 0,
        reason        TEXT NOT NULL DEFAULT '',
        seq           INTEGER NOT NULL DEFAULT 0,
        started       INTEGER NOT NULL DEFAULT 0,
        updated       INTEGER NOT NULL,
        finished      INTEGER NOT NULL DEFAULT 0,
        log_next      INTEGER NOT NULL DEFAULT 0,
        phase         INTEGER NOT NULL DEFAULT 1,
        released      INTEGER NOT NULL DEFAULT 0,
        attempt       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (deployment_id, device_id)
      ) WITHOUT ROWID;
      INSERT INTO deployment_devices_new (deployment_id, device_id, status, bytes_done, bytes_total, reason, seq, started, updated, finished, log_next)
        SELECT deployment_id, device_id, status, bytes_done, bytes_total, reason, seq, started, updated, finished, log_next FROM deployment_devices;
      DROP TABLE deployment_devices;
      ALTER TABLE deployment_devices_new RENAME TO deployment_devices;
      CREATE INDEX deployment_devices_status ON deployment_devices (deployment_id, status);
      CREATE INDEX deployment_devices_device ON deployment_devices (device_id, deployment_id);
      CREATE INDEX deployment_devices_open ON deployment_devices (device_id) WHERE finished = 0;

      -- One row per phase; started = 0 while waiting; released as for devices.
      CREATE TABLE deployment_phases (
        deployment_id TEXT NOT NULL REFERENCES deployments (id),
        number        INTEGER NOT NULL, -- 1-based
        started       INTEGER NOT NULL DEFAULT 0,
        released      INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (deployment_id, number)
      ) WITHOUT ROWID;
      INSERT INTO deployment_phases (deployment_id, number, started) SELECT id, 1, created FROM deployments;

      CREATE TABLE dynamic_groups (
        name       TEXT PRIMARY KEY,
        query      TEXT NOT NULL, -- QueryCondition[] as JSON
        created    INTEGER NOT NULL,
        created_by TEXT NOT NULL
      );
    `);
  },
};
