import type { Deployment, DeploymentDevice } from '../../proto/gen/fleet/v1/console';

// Deployments as the hub returns them, for view tests.

export const FIXTURE_NOW = Date.parse('2026-11-27T09:00:00Z');
const NOW = FIXTURE_NOW;

export function deployment(over: Partial<Deployment> = {}): Deployment {
  return {
    id: 'dep-1',
    name: 'os 2.0',
    artifactId: 'a'.repeat(64),
    artifactName: 'os',
    artifactVersion: '2.0',
    status: 'active',
    createdMs: NOW - 120_000,
    createdBy: 'admin',
    finishedMs: 0,
    counts: {},
    total: 0,
    allowDowngrade: false,
    force: false,
    abortedBy: '',
    ...over,
  };
}

export function device(deviceId: string, status: string, over: Partial<DeploymentDevice> = {}): DeploymentDevice {
  return {
    deploymentId: 'dep-1',
    deviceId,
    status,
    bytesDone: 0,
    bytesTotal: 0,
    reason: '',
    startedMs: NOW - 60_000,
    updatedMs: NOW - 5_000,
    finishedMs: 0,
    artifactName: 'os',
    artifactVersion: '2.0',
    deploymentName: 'os 2.0',
    ...over,
  };
}
