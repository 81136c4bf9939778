import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { posix, join } from 'node:path';
import type { ConsoleEvent, HostKeyProblem, RemoteEntry, RemoteListing, RemoteShellInfo, RemoteTransferProgress, RemoteTransferResult, RemoteTunnelInfo, RemoteTunnelSpec, RemoteUploadBegin, RemoteUploadTicket } from '../../common/console-api';
import { DirectSessions, type DirectEvent, type TunnelInfo } from '../direct/direct-sessions';
import type { HostKeyStore } from '../direct/host-key-store';
import { describeTarget } from '../direct/direct-target';
import { ProgressMeter } from '../direct/transfer-progress';
import type { DirectSettingsStore } from './direct-settings-store';
import { RemoteFailure } from './remote-failure';
import { checkFolderPath, checkMode } from './hub-files';
import { checkSize } from './hub-shells';

interface SpoolUpload {
  deviceId: string;
  remotePath: string;
  size: number;
  file: FileHandle;
  spoolPath: string;
  next: number;
  meter: ProgressMeter;
}

// Direct mode behind the same console API: the device's saved SSH settings
// and DirectSessions (ssh2: pty shells, SFTP, direct-tcpip tunnels), with
// its events renamed to the remote-* events the views already handle. A
// dropped file (bytes from the renderer) is spooled to a private temporary
// file first, because SFTP's parallel fastPut reads from a file.
export class DirectRemote {
  readonly sessions: DirectSessions;
  private readonly shells = new Set<string>();
  private readonly transfers = new Set<string>();
  private readonly tunnels = new Set<string>();
  private readonly uploads = new Map<string, SpoolUpload>();
  private readonly ends = new Map<string, { resolve: (r: RemoteTransferResult) => void; reject: (e: Error) => void; path: string }>();
  private readonly paths = new Map<string, string>();
  private readonly hostKeyProblems = new Map<string, HostKeyProblem>();
  /** SFTP transfer id → the renderer's upload id, whose progress it reports while uploadFinish waits */
  private readonly spooled = new Map<string, string>();

  constructor(
    private readonly settings: DirectSettingsStore,
    hostKeys: HostKeyStore,
    private readonly spoolDir: string,
    private readonly emit: (e: ConsoleEvent) => void,
  ) {
    this.sessions = new DirectSessions({ hostKeys, emit: (e) => this.relay(e) });
  }

  owns(id: string): boolean {
    return this.shells.has(id) || this.transfers.has(id) || this.tunnels.has(id) || this.uploads.has(id);
  }

  async openShell(deviceId: string, size: { cols: number; rows: number }): Promise<RemoteShellInfo> {
    const target = this.settings.target(deviceId);
    const { shellId } = await this.sessions.openShell(target, checkSize(size));
    this.shells.add(shellId);
    return { shellId, deviceId, via: 'direct', sessionId: '', recorded: false, operator: describeTarget(target), startedMs: Date.now() };
  }

  async list(deviceId: string, path: string): Promise<RemoteListing> {
    const entries = await this.sessions.list(this.settings.target(deviceId), path);
    return {
      path,
      entries: entries.map((e) => ({ name: e.name, path: e.path || posix.join(path, e.name), type: e.type === 'directory' ? 'dir' : e.type, size: e.size, mode: e.mode, mtimeMs: e.mtimeMs })),
    };
  }

  async mkdir(deviceId: string, path: string, mode?: number): Promise<RemoteEntry> {
    const e = await this.sessions.mkdir(this.settings.target(deviceId), checkFolderPath(path), checkMode(mode));
    return { name: e.name, path: e.path, type: 'dir', size: 0, mode: e.mode, mtimeMs: e.mtimeMs };
  }

  async roots(deviceId: string): Promise<string[]> {
    const r = await this.sessions.exec(this.settings.target(deviceId), 'pwd');
    const home = r.stdout.trim();
    return home.startsWith('/') ? [home] : ['/'];
  }

  async uploadBegin(deviceId: string, params: RemoteUploadBegin): Promise<RemoteUploadTicket> {
    this.settings.target(deviceId); // fails early without settings
    if (!Number.isSafeInteger(params.size) || params.size < 0) throw new RemoteFailure('protocol', `upload size must be a whole number of bytes, got ${params.size}`);
    mkdirSync(this.spoolDir, { recursive: true, mode: 0o700 });
    const uploadId = randomUUID();
    const spoolPath = join(this.spoolDir, uploadId);
    const file = await open(spoolPath, 'w', 0o600);
    this.uploads.set(uploadId, { deviceId, remotePath: params.path, size: params.size, file, spoolPath, next: 0, meter: new ProgressMeter(params.size, undefined) });
    return { uploadId, offset: 0, chunkBytes: 256 * 1024, maxInFlight: 4 };
  }

  async uploadChunk(uploadId: string, offset: number, data: string): Promise<RemoteTransferProgress> {
    const u = this.upload(uploadId);
    if (offset !== u.next) throw new RemoteFailure('protocol', `chunks must come in order: expected offset ${u.next}, got ${offset}`);
    const bytes = Buffer.from(data, 'base64');
    u.next += bytes.byteLength;
    if (u.next > u.size) throw new RemoteFailure('protocol', `more bytes than the announced ${u.size}`);
    await u.file.write(bytes, 0, bytes.byteLength, offset);
    u.meter.update(u.next);
    // The spool fills at disk speed; the SFTP upload that follows reports the real progress.
    return u.meter.current();
  }

  async uploadFinish(uploadId: string): Promise<RemoteTransferResult> {
    const u = this.upload(uploadId);
    this.uploads.delete(uploadId);
    await u.file.close();
    try {
      if (u.next !== u.size) throw new RemoteFailure('protocol', `only ${u.next} of ${u.size} bytes were given`);
      const { transferId } = await this.sessions.startUpload(this.settings.target(u.deviceId), u.spoolPath, u.remotePath);
      this.transfers.add(transferId);
      this.spooled.set(transferId, uploadId);
      return await new Promise<RemoteTransferResult>((resolve, reject) => this.ends.set(transferId, { resolve, reject, path: u.remotePath }));
    } finally {
      await unlink(u.spoolPath).catch(() => undefined);
      for (const [t, id] of this.spooled) if (id === uploadId) this.spooled.delete(t);
    }
  }

  async uploadCancel(uploadId: string): Promise<void> {
    const u = this.uploads.get(uploadId);
    if (!u) return;
    this.uploads.delete(uploadId);
    await u.file.close().catch(() => undefined);
    await unlink(u.spoolPath).catch(() => undefined);
  }

  async uploadFile(deviceId: string, localPath: string, remotePath: string): Promise<{ transferId: string }> {
    const r = await this.sessions.startUpload(this.settings.target(deviceId), localPath, remotePath);
    this.transfers.add(r.transferId);
    this.paths.set(r.transferId, remotePath);
    return r;
  }

  async download(deviceId: string, remotePath: string, localPath: string): Promise<{ transferId: string }> {
    const r = await this.sessions.startDownload(this.settings.target(deviceId), remotePath, localPath);
    this.transfers.add(r.transferId);
    this.paths.set(r.transferId, localPath);
    return r;
  }

  async openTunnel(deviceId: string, spec: RemoteTunnelSpec): Promise<RemoteTunnelInfo> {
    const t = await this.sessions.openTunnel(this.settings.target(deviceId), { localPort: spec.localPort, remoteHost: spec.host, remotePort: spec.port });
    this.tunnels.add(t.tunnelId);
    return tunnelInfo(t);
  }

  hostKeyProblem(deviceId: string): HostKeyProblem | null {
    return this.hostKeyProblems.get(deviceId) ?? null;
  }

  /** Trusts exactly the key the operator was shown; a different key presented since stays refused. */
  trustHostKey(deviceId: string, fingerprint: string): void {
    const problem = this.hostKeyProblems.get(deviceId);
    if (!problem || problem.presented.fingerprint !== fingerprint) {
      throw new RemoteFailure('host-key-changed', `${fingerprint} is not the key ${deviceId} presented; connect again and check the fingerprint shown`);
    }
    this.sessions.trustHostKey(problem.host, problem.port, problem.presented);
    this.hostKeyProblems.delete(deviceId);
  }

  listTunnels(): RemoteTunnelInfo[] {
    return this.sessions.listTunnels().map(tunnelInfo);
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.uploads.keys()]) await this.uploadCancel(id);
    await this.sessions.closeAll();
  }

  private upload(uploadId: string): SpoolUpload {
    const u = this.uploads.get(uploadId);
    if (!u) throw new RemoteFailure('closed', `upload ${uploadId} is not open (it finished, failed or was cancelled)`);
    return u;
  }

  private relay(e: DirectEvent): void {
    switch (e.type) {
      case 'direct-shell-output':
        return this.emit({ type: 'remote-shell-output', shellId: e.shellId, data: e.data });
      case 'direct-shell-exit':
        this.shells.delete(e.shellId);
        return this.emit({ type: 'remote-shell-exit', shellId: e.shellId, code: e.exit.code, signal: e.exit.signal ?? '', reason: 'exit' });
      case 'direct-transfer-progress':
        return this.emit({ type: 'remote-transfer-progress', transferId: this.spooled.get(e.transferId) ?? e.transferId, progress: e.progress });
      case 'direct-transfer-end': {
        const waiter = this.ends.get(e.transferId);
        const path = waiter?.path ?? this.paths.get(e.transferId) ?? '';
        this.ends.delete(e.transferId);
        this.paths.delete(e.transferId);
        this.transfers.delete(e.transferId);
        const result = e.result ? { path, size: e.result.bytes, sha256: e.result.sha256 } : undefined;
        if (waiter) {
          if (result) waiter.resolve(result);
          else waiter.reject(new RemoteFailure(e.error?.code ?? 'internal', e.error?.message ?? 'the upload failed'));
        }
        return this.emit({ type: 'remote-transfer-end', transferId: e.transferId, result, error: e.error && { code: e.error.code, message: e.error.message } });
      }
      case 'direct-tunnel-error':
        return this.emit({ type: 'remote-tunnel-error', tunnelId: e.tunnelId, error: { code: e.error.code, message: e.error.message } });
      case 'direct-tunnel-closed':
        this.tunnels.delete(e.tunnelId);
        return this.emit({ type: 'remote-tunnel-closed', tunnelId: e.tunnelId, reason: 'closed' });
      case 'direct-connection': {
        const hk = e.error?.hostKey;
        if (e.state !== 'closed' || e.error?.code !== 'host-key-changed' || !hk) return;
        const problem: HostKeyProblem = {
          deviceId: e.deviceId,
          host: hk.host,
          port: hk.port,
          known: { algorithm: hk.known.algorithm, fingerprint: hk.known.fingerprint },
          presented: { algorithm: hk.presented.algorithm, fingerprint: hk.presented.fingerprint },
        };
        this.hostKeyProblems.set(e.deviceId, problem);
        return this.emit({ type: 'remote-host-key-changed', problem });
      }
    }
  }
}

function tunnelInfo(t: TunnelInfo): RemoteTunnelInfo {
  return {
    tunnelId: t.tunnelId,
    deviceId: t.deviceId,
    via: 'direct',
    localPort: t.localPort,
    host: t.remoteHost,
    port: t.remotePort,
    active: t.active,
    accepted: t.accepted,
    failed: t.failed,
    bytesIn: t.bytesFromDevice,
    bytesOut: t.bytesToDevice,
  };
}
