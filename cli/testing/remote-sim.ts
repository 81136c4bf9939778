import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateFingerprint, pemToDer } from '../../proto/tls-fingerprint';
import type { HubLink } from '../remote/channel-client';
import { Operator } from '../../tests/support/operator';
import { freePort, startHubProgram, startProgram, tempDir, waitFor, type HubProgram, type Program } from '../../tests/support/processes';

// A real fleet-hub process and a real `fleet-agent sim` process whose
// devices have remote sessions enabled (shell, files under a temp root,
// port forwards to 127.0.0.1), admitted and online: what the remote
// fleetctl tests and the remote benchmarks run against.

export interface RemoteSim {
  hub: HubProgram;
  operator: Operator;
  /** For in-process channels (benchmarks): the operator's console client. */
  link: HubLink;
  /** fleetctl flags reaching the hub as admin */
  flags: string[];
  /** The hub's TCP port (for a proxy in front of it). */
  hubPort: number;
  /** `flags`, reaching the hub through `address` (host:port of a proxy) instead. */
  flagsVia(address: string): string[];
  caFile: string;
  deviceIds: string[];
  /** The folder every device may read and write (remote.files.roots). */
  filesRoot: string;
  sim: Program;
  work: string;
  close(): Promise<void>;
}

export interface RemoteSimOptions {
  devices?: number;
  /** Shell sessions per device (and per operator). */
  maxSessions?: number;
  /** remote.files.maxFileBytes */
  maxFileBytes?: number;
  /** remote.files.uploadMode (octal string, e.g. "0640") */
  uploadMode?: string;
}

export async function startRemoteSim(options: RemoteSimOptions = {}): Promise<RemoteSim> {
  const dirs = { hub: tempDir('remote-hub'), sims: tempDir('remote-sims'), work: tempDir('remote-work') };
  const filesRoot = join(dirs.work.path, 'device-files');
  mkdirSync(filesRoot);
  const maxSessions = options.maxSessions ?? 16;
  const remote = {
    shell: { enabled: true, command: ['/bin/sh'], maxSessions, maxSessionsPerOperator: maxSessions },
    files: { enabled: true, roots: [filesRoot], ...(options.maxFileBytes ? { maxFileBytes: options.maxFileBytes } : {}), ...(options.uploadMode ? { uploadMode: options.uploadMode } : {}) },
    portForward: { enabled: true, allow: ['127.0.0.1:*'] },
  };
  const remoteConfig = join(dirs.work.path, 'remote.json');
  writeFileSync(remoteConfig, JSON.stringify(remote, null, 2));
  const hub = await startHubProgram(dirs.hub.path, await freePort());
  const caFile = join(dirs.hub.path, 'hub.crt');
  const operator = new Operator(hub.address, hub.adminToken, hub.certPem);
  const n = options.devices ?? 1;
  const sim = startProgram('fleet-agent', ['sim', '--hub', hub.address, '--ca', caFile, '--devices', String(n), '--state', dirs.sims.path, '--remote-config', remoteConfig]);
  const close = async (): Promise<void> => {
    await sim.stop();
    operator.close();
    await hub.stop();
    Object.values(dirs).forEach((d) => d.remove());
  };
  try {
    await waitFor(`${n} devices enrolled`, async () => (await operator.allDevices()).length === n, 60_000, 200);
    await operator.acceptAllPending();
    const online = await waitFor(
      `${n} devices online`,
      async () => {
        const devices = await operator.allDevices();
        return devices.filter((d) => d.online).length === n ? devices : undefined;
      },
      60_000,
      200,
    );
    return {
      hub,
      operator,
      link: { client: operator.client, token: hub.adminToken, hub: hub.address, caPem: hub.certPem, fingerprint: certificateFingerprint(pemToDer(hub.certPem)) },
      flags: ['--hub', hub.address, '--token', hub.adminToken, '--ca', caFile],
      hubPort: Number(hub.address.split(':').pop()),
      flagsVia: (address) => ['--hub', address, '--token', hub.adminToken, '--ca', caFile],
      caFile,
      deviceIds: online.map((d) => d.id).sort(),
      filesRoot,
      sim,
      work: dirs.work.path,
      close,
    };
  } catch (err) {
    const out = sim.output().slice(-3000);
    await close();
    throw new Error(`${(err as Error).message}\n--- sim output (tail):\n${out}`);
  }
}
