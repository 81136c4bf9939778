import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsoleApi, ConsoleEvent } from '../common/console-api';
import { artifactList } from './artifacts/artifact-list';
import { ArtifactUploads, type UploadLimits } from './artifacts/artifact-uploads';
import { DeviceCache } from './cache/device-cache';
import { HubSession } from './connection/hub-session';
import { ContextStore } from './context/context-store';
import { deploymentActions } from './deployments/deployment-actions';
import { deviceActions } from './devices/device-actions';
import { groupActions } from './groups/group-actions';
import { startEmbeddedFleet, type EmbeddedFleet, type EmbeddedFleetOptions } from './embedded/embedded-fleet';
import { createRemoteService } from './remote/remote-service';

export interface ConsoleAppOptions {
  userDataDir: string;
  /** start an embedded hub + simulated devices and connect to it */
  embedded?: boolean;
  /** simulated devices of the embedded fleet; default 5 */
  embeddedDevices?: number;
  /** give the embedded fleet ready-made demo artifacts (the first one uploaded); default off */
  embeddedDemoArtifacts?: boolean;
  /** remote access of the embedded devices (default: the demo's shell, files and loopback tunnels; false: none) */
  embeddedRemote?: EmbeddedFleetOptions['remote'];
  log?: (line: string) => void;
  /** where remote downloads go by default; default ~/Downloads */
  downloadsDir?: string;
  /** tests shorten these */
  uploadLimits?: Partial<UploadLimits>;
}

export interface ConsoleApp {
  api: ConsoleApi;
  subscribe(listener: (e: ConsoleEvent) => void): () => void;
  close(): Promise<void>;
}

// The console's services under plain Node: the local cache, the hub session
// that feeds it, and the typed API over both. The Electron main process and
// the WebSocket bridge are thin transports around this object.
export async function createConsoleApp(opts: ConsoleAppOptions): Promise<ConsoleApp> {
  const log = opts.log ?? (() => {});
  mkdirSync(opts.userDataDir, { recursive: true });
  const listeners = new Set<(e: ConsoleEvent) => void>();
  const emit = (event: ConsoleEvent) => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (err) {
        log(`console event listener failed: ${(err as Error).message}`);
      }
    }
  };

  const cache = new DeviceCache(join(opts.userDataDir, 'cache.db'));
  const session = new HubSession({
    cache,
    store: new ContextStore(join(opts.userDataDir, 'contexts.json')),
    log,
    onState: (state) => emit({ type: 'connection', state }),
    onDevicesChanged: (revision, ids) => emit({ type: 'devices-changed', revision, ids }),
  });

  let fleet: EmbeddedFleet | null = null;
  try {
    if (opts.embedded) {
      fleet = await startEmbeddedFleet({ dir: opts.userDataDir, devices: opts.embeddedDevices ?? 5, demoArtifacts: opts.embeddedDemoArtifacts, remote: opts.embeddedRemote, log });
      await session.connectEmbedded({ hub: fleet.hub, token: fleet.adminToken, fingerprint: fleet.fingerprint, certPem: fleet.certPem });
    } else {
      session.resume();
    }
  } catch (err) {
    await session.close();
    await fleet?.close();
    cache.close();
    throw err;
  }

  const uploads = new ArtifactUploads(session, opts.uploadLimits);
  const remote = createRemoteService({ session, cache, userDataDir: opts.userDataDir, emit, downloadsDir: opts.downloadsDir, knownRoots: (inventory) => fleet?.remoteRoots(inventory) ?? [] });
  // Tunnels end with their device: the cache says when it went offline.
  listeners.add((e) => {
    if (e.type === 'devices-changed') remote.devicesChanged();
  });
  const api: ConsoleApi = {
    connection: {
      state: async () => session.state(),
      probe: (hub) => session.probe(hub),
      connect: (params) => session.connect(params),
      disconnect: () => session.disconnect(),
    },
    devices: deviceActions(cache, session),
    artifacts: {
      ...artifactList(session),
      uploadBegin: (params) => uploads.begin(params),
      uploadChunk: (uploadId, offset, data) => uploads.chunk(uploadId, offset, data),
      uploadFinish: (uploadId) => uploads.finish(uploadId),
      uploadCancel: (uploadId) => uploads.cancel(uploadId),
    },
    deployments: deploymentActions(session),
    groups: groupActions(session),
    remote: remote.api,
  };

  let closing: Promise<void> | null = null;
  return {
    api,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closing ??= (async () => {
        listeners.clear();
        uploads.closeAll();
        await remote.close();
        await session.close();
        await fleet?.close();
        cache.close();
      })();
      return closing;
    },
  };
}
