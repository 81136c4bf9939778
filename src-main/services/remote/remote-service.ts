import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { extname, join } from 'node:path';
import type { ConsoleApi, ConsoleEvent, RemoteTarget, RemoteTransferResult } from '../../common/console-api';
import type { DeviceCache } from '../cache/device-cache';
import type { HubSession } from '../connection/hub-session';
import { HostKeyStore } from '../direct/host-key-store';
import { DirectRemote } from './direct-remote';
import { DirectSettingsStore } from './direct-settings-store';
import { DragOutLinks } from './drag-out-links';
import { HubFiles } from './hub-files';
import { hubHistory } from './hub-history';
import { HubShells } from './hub-shells';
import { HubTunnels } from './hub-tunnels';
import { asApiError } from './remote-failure';

export interface RemoteServiceOptions {
  session: HubSession;
  cache: DeviceCache;
  userDataDir: string;
  emit: (e: ConsoleEvent) => void;
  /** where downloads go by default (the user's Downloads folder) */
  downloadsDir?: string;
  /** roots the console knows without the device saying (its own embedded demo devices) */
  knownRoots?: (inventory: Record<string, string>) => string[];
}

export interface RemoteService {
  api: ConsoleApi['remote'];
  /** the cache changed: tunnels of devices now offline are closed */
  devicesChanged(): void;
  close(): Promise<void>;
}

/** Inventory key under which an agent reports its allowed file roots (comma-separated). */
export const ROOTS_INVENTORY_KEY = 'remote.files.roots';

// The `remote` half of the console API: shells, files, tunnels and session
// history, each either relayed by the hub or straight over SSH (direct
// mode), chosen per call by `target.via`. Ids handed out by one side are
// routed back to it. Errors cross the API as "code: message".
export function createRemoteService(opts: RemoteServiceOptions): RemoteService {
  const { session, cache } = opts;
  // Transfers the services start themselves (drag-out) wait for their end event.
  const transferEnds = new Map<string, (e: Extract<ConsoleEvent, { type: 'remote-transfer-end' }>) => void>();
  const emit = (e: ConsoleEvent): void => {
    if (e.type === 'remote-transfer-end') transferEnds.get(e.transferId)?.(e);
    opts.emit(e);
  };
  const operator = () => session.state().operator;
  const shells = new HubShells(session, emit, operator);
  const files = new HubFiles(session, emit);
  const tunnels = new HubTunnels(session, emit);
  const history = hubHistory(session);
  const hostKeys = HostKeyStore.open(join(opts.userDataDir, 'cache.db'));
  const settings = new DirectSettingsStore(join(opts.userDataDir, 'direct-settings.json'));
  const direct = new DirectRemote(settings, hostKeys, join(opts.userDataDir, 'direct-spool'), emit);

  const dragOut = new DragOutLinks({
    spoolDir: join(opts.userDataDir, 'drag-out-spool'),
    download: async (target, remotePath, localPath) => {
      const { transferId } = await (via(target) === 'hub' ? files.download(target.deviceId, remotePath, localPath) : direct.download(target.deviceId, remotePath, localPath));
      const ended = new Promise<RemoteTransferResult>((resolve, reject) =>
        transferEnds.set(transferId, (e) => {
          transferEnds.delete(transferId);
          if (e.result) resolve(e.result);
          else reject(Object.assign(new Error(e.error?.message ?? 'the download failed'), { code: e.error?.code ?? 'internal' }));
        }),
      );
      emit({ type: 'remote-transfer-start', transferId, origin: 'drag-out', deviceId: target.deviceId, remotePath });
      return { transferId, ended };
    },
    cancel: async (transferId) => (direct.owns(transferId) ? direct.sessions.cancelTransfer(transferId) : files.cancelTransfer(transferId)),
  });

  const via = (target: RemoteTarget): 'hub' | 'direct' => {
    if (!target || typeof target.deviceId !== 'string' || !target.deviceId) throw new Error('a remote call needs { deviceId, via }');
    if (target.via !== 'hub' && target.via !== 'direct') throw new Error(`via must be "hub" or "direct", got ${JSON.stringify(target.via)}`);
    return target.via;
  };

  const api: ConsoleApi['remote'] = {
    openShell: async (target, size) => (via(target) === 'hub' ? shells.open(target.deviceId, size) : direct.openShell(target.deviceId, size)),
    shellInput: async (shellId, data) => (shells.has(shellId) ? shells.input(shellId, data) : direct.sessions.shellInput(shellId, data)),
    shellAck: async (shellId, bytes) => (shells.has(shellId) ? shells.ack(shellId, bytes) : direct.sessions.shellAck(shellId, bytes)),
    shellResize: async (shellId, cols, rows) => (shells.has(shellId) ? shells.resize(shellId, cols, rows) : direct.sessions.shellResize(shellId, cols, rows)),
    closeShell: async (shellId) => (shells.has(shellId) ? shells.close(shellId) : direct.sessions.closeShell(shellId)),
    list: async (target, path, cursor) => (via(target) === 'hub' ? files.list(target.deviceId, path, cursor) : direct.list(target.deviceId, path)),
    mkdir: async (target, path, mode) => (via(target) === 'hub' ? files.mkdir(target.deviceId, path, mode) : direct.mkdir(target.deviceId, path, mode)),
    roots: async (target) => {
      if (via(target) === 'direct') return direct.roots(target.deviceId);
      const inventory = cache.get(target.deviceId)?.inventory ?? {};
      const reported = (inventory[ROOTS_INVENTORY_KEY] ?? '').split(',').map((r) => r.trim()).filter((r) => r.startsWith('/'));
      return reported.length > 0 ? reported : (opts.knownRoots?.(inventory) ?? []);
    },
    uploadBegin: async (params) => (via(params.target) === 'hub' ? files.uploadBegin(params.target.deviceId, params) : direct.uploadBegin(params.target.deviceId, params)),
    uploadChunk: async (uploadId, offset, data) => (direct.owns(uploadId) ? direct.uploadChunk(uploadId, offset, data) : files.uploadChunk(uploadId, offset, data)),
    uploadFinish: async (uploadId) => (direct.owns(uploadId) ? direct.uploadFinish(uploadId) : files.uploadFinish(uploadId)),
    uploadCancel: async (uploadId) => (direct.owns(uploadId) ? direct.uploadCancel(uploadId) : files.uploadCancel(uploadId)),
    uploadFile: async (target, localPath, remotePath) => (via(target) === 'hub' ? files.uploadFile(target.deviceId, localPath, remotePath) : direct.uploadFile(target.deviceId, localPath, remotePath)),
    download: async (target, remotePath, localPath) => {
      // Like a browser: an existing file is never replaced; the copy gets " (1)", " (2)", ...
      const free = freeLocalName(localPath);
      return via(target) === 'hub' ? files.download(target.deviceId, remotePath, free) : direct.download(target.deviceId, remotePath, free);
    },
    cancelTransfer: async (transferId) => (direct.owns(transferId) ? direct.sessions.cancelTransfer(transferId) : files.cancelTransfer(transferId)),
    downloadsDir: async () => opts.downloadsDir ?? join(homedir(), 'Downloads'),
    dragOutBase: () => dragOut.base(),
    openTunnel: async (target, spec) => (via(target) === 'hub' ? tunnels.open(target.deviceId, spec) : direct.openTunnel(target.deviceId, spec)),
    listTunnels: async () => [...tunnels.list(), ...direct.listTunnels()],
    closeTunnel: async (tunnelId) => (direct.owns(tunnelId) ? direct.sessions.closeTunnel(tunnelId) : tunnels.close(tunnelId)),
    sessions: (query) => history.sessions(query),
    closeSession: (id) => history.closeSession(id),
    recording: (id) => history.recording(id),
    getDirect: async (deviceId) => settings.get(deviceId),
    setDirect: async (deviceId, s) => {
      const before = settings.get(deviceId);
      const after = settings.set(deviceId, s);
      // New settings take effect on the next session, not halfway through one.
      if (before) direct.sessions.disconnect(deviceId);
      return after;
    },
    hostKeyProblem: async (deviceId) => direct.hostKeyProblem(deviceId),
    trustHostKey: async (deviceId, fingerprint) => direct.trustHostKey(deviceId, fingerprint),
  };

  return {
    api: withCodes(api),
    devicesChanged() {
      void tunnels.closeOffline((id) => cache.get(id)?.online ?? false);
    },
    async close() {
      await dragOut.close();
      shells.closeAll();
      files.closeAll();
      await tunnels.closeAll();
      await direct.closeAll();
      hostKeys.close();
    },
  };
}

/** Every method rethrows as "code: message", so the code survives IPC and the bridge. */
function withCodes(api: ConsoleApi['remote']): ConsoleApi['remote'] {
  const wrapped: Record<string, (...a: unknown[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(api) as [string, (...a: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw asApiError(err);
      }
    };
  }
  return wrapped as unknown as ConsoleApi['remote'];
}

/** `localPath`, or the first "NAME (n).EXT" beside it that does not exist yet. */
export function freeLocalName(localPath: string): string {
  if (typeof localPath !== 'string' || !localPath) throw new Error('choose where to save the download');
  if (!existsSync(localPath)) return localPath;
  const ext = extname(localPath);
  const stem = ext ? localPath.slice(0, -ext.length) : localPath;
  for (let n = 1; ; n++) {
    const candidate = `${stem} (${n})${ext}`;
    if (!existsSync(candidate)) return candidate;
  }
}
