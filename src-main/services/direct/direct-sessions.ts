import { randomUUID } from 'node:crypto';
import { DirectError } from './direct-error';
import { describeTarget, validateDirectTarget, type DirectTarget } from './direct-target';
import type { HostKeyStore, KnownHostKey, PresentedHostKey } from './host-key-store';
import { HostKeyChangedError, SshConnectionPool, type ConnectedHostKey, type SshConnectOptions } from './ssh-connection';
import { listDirectory, makeDirectory, type RemoteEntry } from './remote-files';
import { downloadFile, uploadFile, type TransferResult } from './sftp-transfer';
import { exec, SshShell, type ExitStatus } from './ssh-shell';
import { SshTunnel, type TunnelStats } from './ssh-tunnel';
import type { TransferProgress } from './transfer-progress';

/** A direct-mode error as it crosses IPC (the class does not survive serialisation). */
export interface DirectErrorInfo {
  code: DirectError['code'] | 'internal';
  message: string;
  /** set for host-key-changed: what the "trust new key" dialog shows and passes back to trustHostKey */
  hostKey?: { host: string; port: number; known: KnownHostKey; presented: PresentedHostKey };
}

/** Pushed to the renderer; shell output is base64 (binary-safe over IPC and JSON). */
export type DirectEvent =
  | { type: 'direct-connection'; deviceId: string; state: 'connected' | 'closed'; error?: DirectErrorInfo }
  | { type: 'direct-shell-output'; shellId: string; data: string }
  | { type: 'direct-shell-exit'; shellId: string; exit: ExitStatus }
  | { type: 'direct-transfer-progress'; transferId: string; progress: TransferProgress }
  | { type: 'direct-transfer-end'; transferId: string; result?: TransferResult; error?: DirectErrorInfo }
  | { type: 'direct-tunnel-error'; tunnelId: string; error: DirectErrorInfo }
  | { type: 'direct-tunnel-closed'; tunnelId: string };

export interface DirectConnectionInfo {
  deviceId: string;
  /** user@host:port */
  address: string;
  hostKey: ConnectedHostKey;
}

export interface TunnelInfo extends TunnelStats {
  tunnelId: string;
  deviceId: string;
  localPort: number;
  remoteHost: string;
  remotePort: number;
}

export interface DirectSessionsOptions {
  hostKeys: HostKeyStore;
  emit(event: DirectEvent): void;
  connect?: Omit<SshConnectOptions, 'hostKeys'>;
  /**
   * Shell output sent but not yet acknowledged (shellAck) before the shell is
   * paused (default 1 MiB): a renderer that cannot keep up slows the device's
   * program down instead of queueing output without bound.
   */
  shellWindowBytes?: number;
}

/** Serialisable form of any error thrown under direct/. */
export function errorInfo(err: unknown): DirectErrorInfo {
  if (err instanceof HostKeyChangedError) {
    return { code: err.code, message: err.message, hostKey: { host: err.host, port: err.port, known: err.known, presented: err.presented } };
  }
  if (err instanceof DirectError) return { code: err.code, message: err.message };
  return { code: 'internal', message: (err as Error)?.message ?? String(err) };
}

interface ShellEntry {
  deviceId: string;
  shell: SshShell;
  unacked: number;
  paused: boolean;
}

// Everything direct mode keeps open, addressed by ids the renderer holds:
// the per-device SSH connections (pooled), shells, transfers and tunnels.
// This is the layer the console API wires to; each method takes the device's
// direct-mode settings as they come from the UI (validated here).
export class DirectSessions {
  private readonly pool: SshConnectionPool;
  private readonly shells = new Map<string, ShellEntry>();
  private readonly transfers = new Map<string, AbortController>();
  private readonly tunnels = new Map<string, { deviceId: string; tunnel: SshTunnel }>();
  private readonly watched = new WeakSet<object>();
  private readonly window: number;

  constructor(private readonly options: DirectSessionsOptions) {
    this.pool = new SshConnectionPool({ ...options.connect, hostKeys: options.hostKeys });
    this.window = options.shellWindowBytes ?? 1024 * 1024;
  }

  /** Connects (or reuses the connection) and says which host key was trusted. */
  async connect(settings: unknown): Promise<DirectConnectionInfo> {
    const target = validateDirectTarget(settings);
    const conn = await this.connection(target);
    return { deviceId: target.deviceId, address: describeTarget(target), hostKey: conn.hostKey };
  }

  /** Closes the device's connection and with it every shell, transfer and tunnel on it. */
  disconnect(deviceId: string): void {
    this.pool.close(deviceId);
  }

  async openShell(settings: unknown, size: { cols: number; rows: number }): Promise<{ shellId: string }> {
    const target = validateDirectTarget(settings);
    const shell = await SshShell.open(await this.connection(target), size);
    const shellId = randomUUID();
    const entry: ShellEntry = { deviceId: target.deviceId, shell, unacked: 0, paused: false };
    this.shells.set(shellId, entry);
    shell.onData((chunk) => {
      entry.unacked += chunk.length;
      if (entry.unacked > this.window && !entry.paused) {
        entry.paused = true;
        shell.pause();
      }
      this.options.emit({ type: 'direct-shell-output', shellId, data: chunk.toString('base64') });
    });
    void shell.exited.then((exit) => {
      this.shells.delete(shellId);
      this.options.emit({ type: 'direct-shell-exit', shellId, exit });
    });
    return { shellId };
  }

  /** Keystrokes (UTF-8 text as xterm.js gives it). */
  shellInput(shellId: string, data: string): void {
    this.shell(shellId).shell.write(data);
  }

  /** The renderer has written `bytes` of output to the terminal: lets more flow. */
  shellAck(shellId: string, bytes: number): void {
    const entry = this.shells.get(shellId);
    if (!entry) return;
    entry.unacked = Math.max(0, entry.unacked - bytes);
    if (entry.paused && entry.unacked <= this.window / 2) {
      entry.paused = false;
      entry.shell.resume();
    }
  }

  shellResize(shellId: string, cols: number, rows: number): void {
    this.shell(shellId).shell.resize(cols, rows);
  }

  /** Ends the shell; unknown ids are ignored (it may have exited already). */
  closeShell(shellId: string): void {
    this.shells.get(shellId)?.shell.close();
  }

  /** Runs one command; output as UTF-8 text. */
  async exec(settings: unknown, command: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
    const target = validateDirectTarget(settings);
    const r = await exec(await this.connection(target), command);
    return { code: r.code, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
  }

  async list(settings: unknown, remoteDir: string): Promise<RemoteEntry[]> {
    const target = validateDirectTarget(settings);
    return listDirectory(await this.connection(target), remoteDir);
  }

  /** Makes a folder and its missing parents (mkdir -p); an existing folder is fine. */
  async mkdir(settings: unknown, remoteDir: string, mode?: number): Promise<RemoteEntry> {
    const target = validateDirectTarget(settings);
    return makeDirectory(await this.connection(target), remoteDir, mode);
  }

  /** Starts an upload; progress and the end arrive as events. */
  async startUpload(settings: unknown, localPath: string, remotePath: string): Promise<{ transferId: string }> {
    const target = validateDirectTarget(settings);
    const conn = await this.connection(target);
    return this.startTransfer((o) => uploadFile(conn, localPath, remotePath, o));
  }

  async startDownload(settings: unknown, remotePath: string, localPath: string): Promise<{ transferId: string }> {
    const target = validateDirectTarget(settings);
    const conn = await this.connection(target);
    return this.startTransfer((o) => downloadFile(conn, remotePath, localPath, o));
  }

  /** Cancels a transfer (its end event says "cancelled"); unknown ids are ignored. */
  cancelTransfer(transferId: string): void {
    this.transfers.get(transferId)?.abort();
  }

  async openTunnel(settings: unknown, spec: { localPort?: number; remoteHost: string; remotePort: number }): Promise<TunnelInfo> {
    const target = validateDirectTarget(settings);
    const tunnel = await SshTunnel.open(await this.connection(target), spec);
    const tunnelId = randomUUID();
    this.tunnels.set(tunnelId, { deviceId: target.deviceId, tunnel });
    tunnel.onConnectionError((e) => this.options.emit({ type: 'direct-tunnel-error', tunnelId, error: errorInfo(e) }));
    void tunnel.closed.then(() => {
      this.tunnels.delete(tunnelId);
      this.options.emit({ type: 'direct-tunnel-closed', tunnelId });
    });
    return this.tunnelInfo(tunnelId, target.deviceId, tunnel);
  }

  listTunnels(): TunnelInfo[] {
    return [...this.tunnels].map(([id, t]) => this.tunnelInfo(id, t.deviceId, t.tunnel));
  }

  /** Closes a tunnel; resolves once its local port is free. Unknown ids are ignored. */
  async closeTunnel(tunnelId: string): Promise<void> {
    await this.tunnels.get(tunnelId)?.tunnel.close();
  }

  listHostKeys(): KnownHostKey[] {
    return this.options.hostKeys.list();
  }

  /** The explicit re-trust after "host key changed": exactly the key the operator was shown. */
  trustHostKey(host: string, port: number, key: PresentedHostKey): KnownHostKey {
    return this.options.hostKeys.trust(host, port, key);
  }

  forgetHostKey(host: string, port: number): boolean {
    return this.options.hostKeys.forget(host, port);
  }

  /** Ends everything (console shutdown). */
  async closeAll(): Promise<void> {
    for (const c of this.transfers.values()) c.abort();
    await Promise.all([...this.tunnels.values()].map((t) => t.tunnel.close()));
    this.pool.closeAll();
  }

  private async connection(target: DirectTarget) {
    try {
      const conn = await this.pool.connection(target);
      if (!this.watched.has(conn)) {
        this.watched.add(conn);
        this.options.emit({ type: 'direct-connection', deviceId: target.deviceId, state: 'connected' });
        conn.onClose((reason) => this.options.emit({ type: 'direct-connection', deviceId: target.deviceId, state: 'closed', error: reason && errorInfo(reason) }));
      }
      return conn;
    } catch (err) {
      this.options.emit({ type: 'direct-connection', deviceId: target.deviceId, state: 'closed', error: errorInfo(err) });
      throw err;
    }
  }

  private startTransfer(run: (o: { signal: AbortSignal; onProgress: (p: TransferProgress) => void }) => Promise<TransferResult>): { transferId: string } {
    const transferId = randomUUID();
    const abort = new AbortController();
    this.transfers.set(transferId, abort);
    run({ signal: abort.signal, onProgress: (progress) => this.options.emit({ type: 'direct-transfer-progress', transferId, progress }) }).then(
      (result) => this.options.emit({ type: 'direct-transfer-end', transferId, result }),
      (err) => this.options.emit({ type: 'direct-transfer-end', transferId, error: errorInfo(err) }),
    ).finally(() => this.transfers.delete(transferId));
    return { transferId };
  }

  private shell(shellId: string): ShellEntry {
    const entry = this.shells.get(shellId);
    if (!entry) throw new DirectError('connection-closed', `shell ${shellId} is not open (it ended or was closed); open a new one`);
    return entry;
  }

  private tunnelInfo(tunnelId: string, deviceId: string, t: SshTunnel): TunnelInfo {
    return { tunnelId, deviceId, localPort: t.localPort, remoteHost: t.remoteHost, remotePort: t.remotePort, ...t.stats() };
  }
}
