import { Client, type ClientErrorExtensions, type SFTPWrapper } from 'ssh2';
import { DirectError } from './direct-error';
import { describeTarget, loginCredentials, sameLogin, type DirectTarget } from './direct-target';
import { type HostKeyCheck, type HostKeyStore, type KnownHostKey, type PresentedHostKey } from './host-key-store';

export interface SshConnectOptions {
  hostKeys: HostKeyStore;
  /** TCP connect + SSH handshake + login must finish within this (default 15 s) */
  readyTimeoutMs?: number;
  /** keepalive probe interval (default 10 s); the connection is declared dead after `keepaliveCountMax` unanswered probes */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
}

/** The host key the server presented on this connection and whether it was just trusted for the first time. */
export interface ConnectedHostKey extends PresentedHostKey {
  firstUse: boolean;
}

/** Refusal of a server whose key differs from the trusted one; carries both keys for the "trust new key" dialog. */
export class HostKeyChangedError extends DirectError {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly known: KnownHostKey,
    readonly presented: PresentedHostKey,
  ) {
    super(
      'host-key-changed',
      `host key changed for ${host}:${port}: the console trusts ${known.algorithm} ${known.fingerprint} (first seen ${new Date(known.firstSeenMs).toISOString()}) ` +
        `but the server now presents ${presented.algorithm} ${presented.fingerprint}. The connection was refused: this happens when the device was reinstalled, ` +
        `or when someone intercepts the connection. If the change is expected, trust the new key explicitly (compare it with \`ssh-keygen -lf\` on the device).`,
    );
    this.name = 'HostKeyChangedError';
  }
}

// One logged-in SSH connection to one device. Shells, commands, SFTP sessions
// and tunnel connections are channels multiplexed over it, so opening a
// terminal next to a file transfer costs no new handshake. (OpenSSH allows 10
// session channels per connection by default, MaxSessions; forwarded TCP
// connections do not count.)
export class SshConnection {
  private closeReason: DirectError | undefined;
  private isClosed = false;
  private readonly closeListeners = new Set<(reason: DirectError | undefined) => void>();
  private sharedSftp: Promise<SFTPWrapper> | undefined;

  private constructor(
    readonly target: DirectTarget,
    readonly client: Client,
    readonly hostKey: ConnectedHostKey,
    readyTimeout: number,
  ) {
    // After login an error (keepalive timeout, reset) is followed by 'close': keep it as the reason.
    client.on('error', (err: Error & ClientErrorExtensions) => {
      this.closeReason ??= translateError(err, target, { readyTimeout });
    });
    client.once('close', () => {
      this.isClosed = true;
      for (const l of this.closeListeners) l(this.closeReason);
      this.closeListeners.clear();
    });
  }

  /** Connects and logs in; checks the host key against the store (trust on first use) before any credential is sent. */
  static async connect(target: DirectTarget, options: SshConnectOptions): Promise<SshConnection> {
    const readyTimeout = options.readyTimeoutMs ?? 15_000;
    const credentials = loginCredentials(target);
    const client = new Client();
    let hostCheck: HostKeyCheck | undefined;
    let storeError: DirectError | undefined;
    return new Promise<SshConnection>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error & ClientErrorExtensions) => {
        if (settled) return;
        settled = true;
        // destroy, not end: a server that never answered will not answer a polite goodbye either.
        client.destroy();
        if (storeError) reject(storeError);
        else if (hostCheck?.status === 'changed') reject(new HostKeyChangedError(target.host, target.port, hostCheck.known, hostCheck.presented));
        else reject(translateError(err, target, { readyTimeout }));
      };
      client.on('error', fail);
      client.once('close', () => fail(new Error('the server closed the connection during login')));
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        client.removeListener('error', fail);
        const key = hostCheck!.status === 'changed' ? undefined : hostCheck!.known;
        resolve(new SshConnection(target, client, { algorithm: key!.algorithm, fingerprint: key!.fingerprint, firstUse: hostCheck!.status === 'first-use' }, readyTimeout));
      });
      try {
        client.connect({
          host: target.host,
          port: target.port,
          username: target.username,
          ...credentials,
          tryKeyboard: false,
          readyTimeout,
          keepaliveInterval: options.keepaliveIntervalMs ?? 10_000,
          keepaliveCountMax: options.keepaliveCountMax ?? 3,
          hostVerifier: (key: Buffer) => {
            try {
              hostCheck = options.hostKeys.check(target.host, target.port, key);
            } catch (err) {
              // The store could not answer (cache file damaged or locked): refuse rather than trust blindly.
              storeError = new DirectError('host-key-unverified', `cannot check the host key of ${describeTarget(target)}: the console's host key store failed (${(err as Error).message}); the connection was refused`, { cause: err });
              return false;
            }
            return hostCheck.status !== 'changed';
          },
        });
      } catch (err) {
        fail(err as Error);
      }
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Calls `listener` once when the connection ends, with the reason if it broke (undefined after close()). */
  onClose(listener: (reason: DirectError | undefined) => void): () => void {
    if (this.isClosed) {
      queueMicrotask(() => listener(this.closeReason));
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** A long-lived SFTP session for small requests (listing, stat, rename, unlink). */
  sftp(): Promise<SFTPWrapper> {
    if (!this.sharedSftp) {
      const opening = this.openSftp();
      this.sharedSftp = opening;
      opening.then(
        (s) => s.once('close', () => this.sharedSftp === opening && (this.sharedSftp = undefined)),
        () => (this.sharedSftp = undefined),
      );
    }
    return this.sharedSftp;
  }

  /** A new SFTP session of its own (a transfer uses one, so cancelling it ends only that session). */
  openSftp(): Promise<SFTPWrapper> {
    this.assertOpen('open an SFTP session');
    return new Promise((resolve, reject) =>
      this.client.sftp((err, sftp) => (err ? reject(this.channelError('an SFTP session', err)) : resolve(sftp))),
    );
  }

  /** Throws a clear error when the connection is gone. */
  assertOpen(what: string): void {
    if (this.isClosed) {
      throw new DirectError('connection-closed', `cannot ${what} on device ${this.target.deviceId}: the SSH connection to ${describeTarget(this.target)} is closed${this.closeReason ? ` (${this.closeReason.message})` : ''}; reconnect`);
    }
  }

  /** Wraps a channel-open failure (the server's MaxSessions, a disabled subsystem...) in a clear error. */
  channelError(what: string, err: Error): DirectError {
    if (this.isClosed) return new DirectError('connection-closed', `cannot open ${what} on device ${this.target.deviceId}: the SSH connection closed`, { cause: err });
    return new DirectError('channel-refused', `${describeTarget(this.target)} refused ${what}: ${err.message} (the server may limit sessions per connection, MaxSessions, or have the feature disabled)`, { cause: err });
  }

  close(): void {
    this.client.end();
  }
}

/** Turns ssh2 and socket errors into what the operator can act on. */
function translateError(err: Error & ClientErrorExtensions & { code?: string }, target: DirectTarget, o: { readyTimeout: number }): DirectError {
  if (err instanceof DirectError) return err;
  const where = describeTarget(target);
  const dev = `device ${target.deviceId}`;
  if (err.level === 'client-authentication') {
    const how = target.auth.kind === 'password' ? 'password' : 'key';
    return new DirectError('auth-failed', `SSH login as ${where} (${dev}) was refused: the server did not accept the ${how}. Check the username and ${how === 'key' ? "that the public key is in the user's ~/.ssh/authorized_keys" : 'the password (and that the server allows password login)'}`, { cause: err });
  }
  if (err.level === 'client-timeout') {
    if (/keepalive/i.test(err.message)) return new DirectError('timeout', `the SSH connection to ${where} (${dev}) stopped answering (keepalive timed out); check the network and reconnect`, { cause: err });
    return new DirectError('timeout', `no SSH login to ${where} (${dev}) within ${Math.round(o.readyTimeout / 1000)} s: the device is not answering (wrong address, a firewall dropping packets, or sshd overloaded)`, { cause: err });
  }
  switch (err.code) {
    case 'ECONNREFUSED':
      return new DirectError('unreachable', `cannot reach ${where} (${dev}): connection refused; is sshd running and listening on port ${target.port}?`, { cause: err });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new DirectError('unreachable', `cannot reach ${where} (${dev}): host name "${target.host}" not found; check the address in the device's direct-mode settings`, { cause: err });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'EHOSTDOWN':
      return new DirectError('unreachable', `cannot reach ${where} (${dev}): ${err.code === 'ETIMEDOUT' ? 'connection timed out' : 'no route to the host'}; is the device on this network?`, { cause: err });
    case 'ECONNRESET':
      return new DirectError('connection-closed', `the SSH connection to ${where} (${dev}) was reset by the other side`, { cause: err });
  }
  return new DirectError('connection-closed', `SSH connection to ${where} (${dev}) failed: ${err.message}`, { cause: err });
}

// One connection per device, shared by all its terminals, transfers and
// tunnels. A broken connection is dropped and the next request reconnects;
// changed settings (address, user, credentials) close the old one first.
export class SshConnectionPool {
  private readonly entries = new Map<string, { target: DirectTarget; connecting: Promise<SshConnection> }>();

  constructor(private readonly options: SshConnectOptions) {}

  /** The device's open connection, or a new one. Concurrent callers share one handshake. */
  async connection(target: DirectTarget): Promise<SshConnection> {
    const entry = this.entries.get(target.deviceId);
    if (entry && sameLogin(entry.target, target)) {
      const conn = await entry.connecting;
      if (!conn.closed) return conn;
      if (this.entries.get(target.deviceId) === entry) this.entries.delete(target.deviceId);
      return this.connection(target);
    }
    if (entry) this.close(target.deviceId);
    const connecting = SshConnection.connect(target, this.options);
    const fresh = { target, connecting };
    this.entries.set(target.deviceId, fresh);
    connecting.then(
      (conn) => conn.onClose(() => this.entries.get(target.deviceId) === fresh && this.entries.delete(target.deviceId)),
      () => this.entries.get(target.deviceId) === fresh && this.entries.delete(target.deviceId),
    );
    return connecting;
  }

  /** Closes the device's connection (its shells, transfers and tunnels end). */
  close(deviceId: string): void {
    const entry = this.entries.get(deviceId);
    if (!entry) return;
    this.entries.delete(deviceId);
    entry.connecting.then((c) => c.close(), () => {});
  }

  closeAll(): void {
    for (const id of [...this.entries.keys()]) this.close(id);
  }
}
