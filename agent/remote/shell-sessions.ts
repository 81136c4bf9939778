import type { ChannelPeer } from './channel-frame';
import { refuse } from './channel-frame';
import { CommandSession } from './command-session';
import type { ShellConfig } from './remote-config';
import { RemoteError } from './remote-error';
import { SessionLimits } from './session-limits';
import { ShellSession } from './shell-session';
import type { RunningShell, ShellOptions, ShellRequest, ShellSessionInfo } from './shell-types';
import { shellSpawnPlan } from './shell-user';

// The shells of one device: config, limits (interactive and command
// sessions count alike) and the open sessions.

export class ShellSessions {
  private readonly limits: SessionLimits;
  private readonly sessions = new Set<RunningShell>();

  constructor(
    private readonly config: ShellConfig,
    private readonly options: ShellOptions = {},
  ) {
    this.limits = new SessionLimits(config.maxSessions, config.maxSessionsPerOperator, 'shell sessions');
  }

  /** Throws the refusal a new session would get now (disabled, limits, bad config), without starting one. */
  check(operator: string): void {
    this.checkEnabled();
    this.limits.acquire(operator)();
    shellSpawnPlan(this.config, this.options.env);
  }

  /** Starts a session on `peer`; on refusal sends an error frame, closes the peer and throws the RemoteError. */
  open(request: ShellRequest, peer: ChannelPeer): RunningShell {
    let release: (() => void) | undefined;
    try {
      this.checkEnabled();
      if (typeof request.operator !== 'string' || request.operator === '') throw new RemoteError('protocol', 'a shell request must name its operator');
      release = this.limits.acquire(request.operator);
      const session: RunningShell =
        request.command !== undefined ? new CommandSession(this.config, { ...request, command: request.command }, peer, this.options) : new ShellSession(this.config, request, peer, this.options);
      this.sessions.add(session);
      const done = release;
      void session.exited.then(() => {
        this.sessions.delete(session);
        done();
      });
      return session;
    } catch (err) {
      release?.();
      const e = err instanceof RemoteError ? err : new RemoteError('internal', `cannot start the shell: ${(err as Error).message}`);
      refuse(peer, e.code, e.message);
      throw e;
    }
  }

  list(): ShellSessionInfo[] {
    return [...this.sessions].map((s) => s.info);
  }

  /** Ends every session (agent shutdown, config change) and waits for them. */
  async closeAll(reason: string): Promise<void> {
    const all = [...this.sessions];
    for (const s of all) s.close(reason);
    await Promise.all(all.map((s) => s.exited));
  }

  private checkEnabled(): void {
    if (!this.config.enabled) throw new RemoteError('disabled', 'remote shell is disabled on this device (set remote.shell.enabled in the agent config)');
  }
}
