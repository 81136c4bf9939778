import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../testing/test-hub';
import { runMigrations } from '../migration-runner';
import { openSqliteStore } from '../sqlite-store';
import { migrations } from './index';

let dir: string | undefined;

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('migration 0004 (rollouts)', () => {
  it('keeps deployments made before rollouts: one started phase, default rollout, new statuses allowed', async () => {
    dir = makeTempDir('fleet-migration-');
    const file = join(dir, 'hub.db');
    const db = new Database(file);
    runMigrations(db, migrations.filter((m) => m.version <= 3));
    db.exec(`
      INSERT INTO devices (id, status, identity, public_key, created, updated, revision) VALUES ('dev-1', 'accepted', '{}', x'00', 1, 1, 0);
      INSERT INTO artifacts (id, name, version, grp, device_types, provides, size, signature_status, key_id, uploaded, uploaded_by, payload_summary)
        VALUES ('a1', 'os', '1', 'os', '["board"]', '{}', 10, 'trusted', 'k', 1, 't', 'rootfs');
      INSERT INTO deployments (id, name, artifact_id, artifact_name, artifact_version, artifact_size, status, allow_downgrade, force, created, created_by, total)
        VALUES ('dep-1', 'os 1', 'a1', 'os', '1', 10, 'active', 0, 0, 1000, 'ops', 1);
      INSERT INTO deployment_devices (deployment_id, device_id, status, seq, updated) VALUES ('dep-1', 'dev-1', 'downloading', 4, 1000);
    `);
    db.close();

    const store = openSqliteStore(file);
    try {
      const dep = await store.getDeployment('dep-1');
      expect(dep).toMatchObject({ status: 'active', haltReason: '', total: 1, counts: { downloading: 1 } });
      expect(dep?.rollout.phases).toHaveLength(1);
      expect(await store.deploymentPhases('dep-1')).toEqual([{ number: 1, startedMs: 1000, released: 0, total: 1, counts: { downloading: 1 } }]);
      expect(await store.getDeploymentDevice('dep-1', 'dev-1')).toMatchObject({ status: 'downloading', seq: 4, phase: 1, attempt: 0, released: 0 });
      const applied = await store.applyUpdateReports([
        { deploymentId: 'dep-1', deviceId: 'dev-1', status: 'paused-before-reboot', bytesDone: 10, bytesTotal: 10, reason: '', seq: 5, logLines: [], atMs: 2000 },
      ]);
      expect(applied.finals).toEqual([]);
      expect((await store.getDeploymentDevice('dep-1', 'dev-1'))?.status).toBe('paused-before-reboot');
      expect((await store.pauseDeployment('dep-1', 'checking', 'ops')).status).toBe('halted');
    } finally {
      await store.close();
    }
  });
});
