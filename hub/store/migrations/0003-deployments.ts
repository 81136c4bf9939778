import type { Migration } from './migration';

export const migration0003: Migration = {
  version: 3,
  name: 'deployments: deployments, per-device status and logs, static groups',
  up(db) {
    db.exec(`
      CREATE TABLE deployments (
        seq              INTEGER PRIMARY KEY, -- creation order
        id               TEXT NOT NULL UNIQUE,
        name             TEXT NOT NULL,
        artifact_id      TEXT NOT NULL REFERENCES artifacts (id),
        artifact_name    TEXT NOT NULL,
        artifact_version TEXT NOT NULL,
        artifact_size    INTEGER NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('active', 'finished', 'aborted')),
        allow_downgrade  INTEGER NOT NULL,
        force            INTEGER NOT NULL,
        created          INTEGER NOT NULL,
        created_by       TEXT NOT NULL,
        finished         INTEGER NOT NULL DEFAULT 0,
        aborted          INTEGER NOT NULL DEFAULT 0,
        aborted_by       TEXT NOT NULL DEFAULT '',
        total            INTEGER NOT NULL
      );
      CREATE INDEX deployments_status ON deployments (status, seq);
      CREATE INDEX deployments_artifact ON deployments (artifact_id);

      -- finished = 0 marks a status that is not final yet.
      CREATE TABLE deployment_devices (
        deployment_id TEXT NOT NULL REFERENCES deployments (id),
        device_id     TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'downloading', 'installing', 'rebooting', 'verifying', 'committing',
                        'success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted')),
        bytes_done    INTEGER NOT NULL DEFAULT 0,
        bytes_total   INTEGER NOT NULL DEFAULT 0,
        reason        TEXT NOT NULL DEFAULT '',
        seq           INTEGER NOT NULL DEFAULT 0,
        started       INTEGER NOT NULL DEFAULT 0,
        updated       INTEGER NOT NULL,
        finished      INTEGER NOT NULL DEFAULT 0,
        log_next      INTEGER NOT NULL DEFAULT 0, -- number of the next log line
        PRIMARY KEY (deployment_id, device_id)
      ) WITHOUT ROWID;
      CREATE INDEX deployment_devices_status ON deployment_devices (deployment_id, status);
      CREATE INDEX deployment_devices_device ON deployment_devices (device_id, deployment_id);
      CREATE INDEX deployment_devices_open ON deployment_devices (device_id) WHERE finished = 0;

      -- Capped per (deployment, device): the newest lines are kept.
      CREATE TABLE deployment_logs (
        deployment_id TEXT NOT NULL,
        device_id     TEXT NOT NULL,
        n             INTEGER NOT NULL,
        line          TEXT NOT NULL,
        PRIMARY KEY (deployment_id, device_id, n)
      ) WITHOUT ROWID;

      CREATE TABLE static_groups (
        name      TEXT NOT NULL,
        device_id TEXT NOT NULL REFERENCES devices (id),
        PRIMARY KEY (name, device_id)
      ) WITHOUT ROWID;
      CREATE INDEX static_groups_device ON static_groups (device_id);
    `);
  },
};
