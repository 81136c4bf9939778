import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type RunningHub } from '../../../hub/hub';
import { startSimulator, type RunningSimulator } from '../../../agent/sim/simulator';
import { AdmissionStatus } from '../../../proto/gen/fleet/v1/common';
import type { Device } from '../../../proto/gen/fleet/v1/common';
import { createConsoleClient, unary } from '../hub-client/hub-connection';

// Test support: a real hub and real simulated devices in temporary folders on
// 127.0.0.1, plus the polling helper every async assertion uses.

export class TempDirs {
  private readonly dirs: string[] = [];
  make(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }
  removeAll(): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export function startTestHub(dataDir: string, listen = '127.0.0.1:0'): Promise<RunningHub> {
  return startHub({ dataDir, listen, enrollRetryMs: 300 });
}

export function startTestDevices(hub: RunningHub, stateDir: string, devices: number, startIndex = 1): Promise<RunningSimulator> {
  return startSimulator({ hub: hub.address, caPem: hub.certPem, devices, stateDir, startIndex, connectSpreadMs: 0, backoff: { baseMs: 200, maxMs: 1000 } });
}

/** What the hub itself lists, read with a raw operator client. */
export async function hubDevices(hub: RunningHub): Promise<Device[]> {
  const client = createConsoleClient({ hub: hub.address, token: hub.adminToken, caPem: hub.certPem });
  try {
    const res = await unary(client, client.listDevices, { filter: undefined, pageSize: 1000, pageToken: '' }, hub.adminToken);
    return res.devices;
  } finally {
    client.close();
  }
}

/** Admits devices behind the console's back, as another operator would. */
export async function admitOnHub(hub: RunningHub, ids: string[]): Promise<void> {
  const client = createConsoleClient({ hub: hub.address, token: hub.adminToken, caPem: hub.certPem });
  try {
    await unary(client, client.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids, filter: undefined }, hub.adminToken);
  } finally {
    client.close();
  }
}

// One polling helper for every test of the project.
export { waitFor } from '../../../tests/support/processes';
