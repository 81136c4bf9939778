import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { startHub } from '../../../hub/hub';
import { startSimulator } from '../../../agent/sim/simulator';
import type { SimRemoteConfig } from '../../../agent/sim/sim-remote';
import { ensureDemoArtifacts, uploadToHub, type DemoArtifact } from './demo-artifacts';
import { ensureDemoSigningKey, trustOnHub, type DemoSigningKey } from './demo-signing-key';

export interface EmbeddedFleetOptions {
  /** the console's user data folder; the hub and devices live in subfolders */
  dir: string;
  devices: number;
  log: (line: string) => void;
  /** first address to try; default 127.0.0.1:7443, falling back to any free port */
  listen?: string;
  /** make the demo artifacts (once) and upload the good one to the hub when first made */
  demoArtifacts?: boolean;
  /** what the simulated devices allow remotely; default DEMO_REMOTE, false: nothing */
  remote?: SimRemoteConfig | false;
}

/**
 * Remote access of the demo devices: a shell as the console's own user,
 * files inside each device's folder (embedded-devices/dev-N/files, shown as
 * its allowed root) and tunnels to this computer's loopback ports, so a
 * tunnel to any local web server can be tried. Only sensible because the
 * "devices" run inside this very console, as its user.
 */
export const DEMO_REMOTE: SimRemoteConfig = {
  shell: { enabled: true, maxSessions: 16, maxSessionsPerOperator: 8, idleTimeoutSeconds: 1800 },
  files: { enabled: true, roots: ['files'], maxFileBytes: 4 * 1024 * 1024 * 1024 },
  portForward: { enabled: true, allow: ['127.0.0.1:*', 'localhost:*'] },
};

export interface EmbeddedFleet {
  hub: string;
  fingerprint: string;
  certPem: string;
  adminToken: string;
  /** the demo artifact signing key, trusted by the hub and by every simulated device */
  signingKey: DemoSigningKey;
  /** ready-made artifacts in the data folder (empty unless asked for) */
  demoArtifacts: DemoArtifact[];
  /** the file roots a demo device allows, found from its inventory (hostname sim-N lives in dev-N); [] for other devices */
  remoteRoots(inventory: Record<string, string>): string[];
  close(): Promise<void>;
}

const PREFERRED_LISTEN = '127.0.0.1:7443';

// The demo fleet that runs inside the console: a real hub (TLS gRPC, SQLite)
// and simulated devices, kept in the user data folder so the fleet, its
// admissions and the hub's certificate survive restarts. Devices retry
// enrollment every second so an accepted device is online at once. A demo
// artifact signing key, made once, is trusted by the hub and the devices.
export async function startEmbeddedFleet(opts: EmbeddedFleetOptions): Promise<EmbeddedFleet> {
  const hubDir = join(opts.dir, 'embedded-hub');
  const devicesDir = join(opts.dir, 'embedded-devices');
  mkdirSync(hubDir, { recursive: true });
  mkdirSync(devicesDir, { recursive: true });
  const signingKey = ensureDemoSigningKey(join(opts.dir, 'demo-signing'));
  trustOnHub(hubDir, signingKey.publicKeyPem);
  const listen = opts.listen ?? PREFERRED_LISTEN;
  const hubOpts = { dataDir: hubDir, enrollRetryMs: 1000, log: (line: string) => opts.log(`embedded hub: ${line}`) };
  let hub: Awaited<ReturnType<typeof startHub>>;
  try {
    hub = await startHub({ ...hubOpts, listen });
  } catch (err) {
    if (!/already in use|EADDRINUSE/i.test((err as Error).message)) throw err;
    opts.log(`embedded hub: ${listen} is taken; using a free port`);
    hub = await startHub({ ...hubOpts, listen: '127.0.0.1:0' });
  }
  opts.log(`embedded hub on ${hub.address}, fingerprint ${hub.fingerprint}`);
  try {
    const demoArtifacts = opts.demoArtifacts ? await prepareDemoArtifacts(join(opts.dir, 'demo-artifacts'), signingKey, hub, opts.log) : [];
    const sim = await startSimulator({
      hub: hub.address,
      caPem: hub.certPem,
      devices: opts.devices,
      stateDir: devicesDir,
      backoff: { baseMs: 500, maxMs: 5000 },
      trustedArtifactKeys: [signingKey.publicKeyPem],
      ...(opts.remote === false ? {} : { remote: opts.remote ?? DEMO_REMOTE }),
      log: (line) => opts.log(`embedded device ${line}`),
    });
    return {
      hub: hub.address,
      fingerprint: hub.fingerprint,
      certPem: hub.certPem,
      adminToken: hub.adminToken,
      signingKey,
      demoArtifacts,
      remoteRoots(inventory) {
        const m = /^sim-(\d+)$/.exec(inventory.hostname ?? '');
        const remote = opts.remote === false ? undefined : (opts.remote ?? DEMO_REMOTE);
        if (inventory.simulated !== 'true' || !m || !remote?.files?.enabled) return [];
        const deviceDir = join(devicesDir, `dev-${m[1]}`);
        return (remote.files.roots ?? []).map((r) => (isAbsolute(r) ? r : join(deviceDir, r))).map((r) => (existsSync(r) ? realpathSync(r) : r));
      },
      async close() {
        await sim.close();
        await hub.close();
      },
    };
  } catch (err) {
    await hub.close();
    throw err;
  }
}

async function prepareDemoArtifacts(dir: string, key: DemoSigningKey, hub: { address: string; adminToken: string; certPem: string }, log: (line: string) => void): Promise<DemoArtifact[]> {
  const { all, made } = await ensureDemoArtifacts(dir, key);
  const ready = made.filter((a) => a.healthy);
  for (const artifact of ready) {
    try {
      const res = await uploadToHub({ hub: hub.address, token: hub.adminToken, certPem: hub.certPem }, artifact.file);
      log(`embedded hub: demo artifact ${res.artifact?.name} ${res.artifact?.version} uploaded (${res.artifact?.signatureStatus})`);
    } catch (err) {
      // The demo still works without it: the file can be dropped on the Artifacts view.
      log(`embedded hub: could not upload the demo artifact ${artifact.file}: ${(err as Error).message}`);
    }
  }
  return all;
}
