import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { ChannelFrame, ChannelPeer } from './channel-frame';
import { CreditGranter, CreditSender, DEFAULT_WINDOW_BYTES } from './flow-control';
import { sessionPids, signalSession } from './process-session';
import type { ShellConfig } from './remote-config';
import { RemoteError } from './remote-error';
import { KILL_GRACE_MS, type RunningShell, type ShellExit, type ShellOptions, type ShellRequest, type ShellSessionInfo } from './shell-types';
import { shellSpawnPlan } from './shell-user';

// A one-shot command (`fleetctl shell DEVICE -- COMMAND`): the configured
// shell runs `-c COMMAND` with pipes instead of a pty, so bytes pass
// unchanged (no echo, no CRLF), stderr stays separate, and the exit frame
// carries the status. stdout and stderr share the operator's credit: both
// pipes pause when it is spent. The process leads its own session, so
// ending the channel ends everything it started.

export class CommandSession implements RunningShell {
  readonly info: ShellSessionInfo;
  readonly exited: Promise<ShellExit>;
  private readonly child: ChildProcess;
  private readonly output: CreditSender;
  private readonly input: CreditGranter;
  private endReason: string | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: ShellConfig,
    request: ShellRequest & { command: string },
    private readonly peer: ChannelPeer,
    options: ShellOptions = {},
  ) {
    const plan = shellSpawnPlan(config, options.env);
    const env = { ...plan.env };
    delete env.TERM;
    delete env.COLORTERM;
    this.child = spawn(plan.file, [...plan.args, '-c', request.command], { cwd: plan.cwd, env, uid: plan.uid, gid: plan.gid, detached: true, stdio: 'pipe' });
    const pid = this.child.pid ?? -1;
    this.info = { id: randomUUID(), operator: request.operator, user: plan.user, pid, startedAt: new Date(), command: request.command };

    this.output = new CreditSender((chunk, tag) => peer.send(tag === 'stderr' ? { $case: 'stderr', stderr: chunk } : { $case: 'data', data: chunk }));
    this.output.onDrain(() => {
      this.child.stdout?.resume();
      this.child.stderr?.resume();
    });
    this.input = new CreditGranter((bytes) => peer.send({ $case: 'window', window: { bytes } }), options.windowBytes ?? DEFAULT_WINDOW_BYTES);

    const pipeOut = (stream: NodeJS.ReadableStream | null, tag: string): void => {
      stream?.on('data', (chunk: Buffer) => {
        // Once ending, output is dropped so the pipes drain and the process can be reaped.
        if (this.endReason !== undefined) return;
        if (!this.output.write(chunk, tag)) {
          this.child.stdout?.pause();
          this.child.stderr?.pause();
        }
      });
    };
    pipeOut(this.child.stdout, 'stdout');
    pipeOut(this.child.stderr, 'stderr');
    // The command may exit without reading its input.
    this.child.stdin?.on('error', () => undefined);

    this.exited = new Promise((resolve) => {
      let spawnError: Error | undefined;
      this.child.on('error', (err) => (spawnError = err));
      // 'close' comes after the pipes are drained: all output is held or sent.
      this.child.on('close', (code, signal) => {
        clearTimeout(this.idleTimer);
        if (sessionPids(pid).length > 0) {
          signalSession(pid, 'SIGTERM');
          setTimeout(() => sessionPids(pid).length > 0 && signalSession(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
        }
        const exit: ShellExit = { code: code ?? (spawnError ? 127 : 128), ...(signal ? { signal } : {}), reason: this.endReason ?? 'exit' };
        let finished = false;
        const finish = (): void => {
          if (finished) return;
          finished = true;
          this.output.dispose();
          if (!peer.closed) {
            if (spawnError) peer.send({ $case: 'error', error: { code: 'internal', message: `cannot run the command: ${spawnError.message}` } });
            peer.send({ $case: 'exit', exit: { code: exit.code, ...(exit.signal ? { signal: exit.signal } : {}) } });
            peer.close(exit.reason);
          }
          resolve(exit);
        };
        if (this.endReason === undefined && !peer.closed && this.output.pendingBytes > 0) {
          const giveUp = setTimeout(finish, this.config.idleTimeoutSeconds * 1000);
          const offClose = peer.onClose(() => finish());
          void this.output.drained().then(() => {
            clearTimeout(giveUp);
            offClose();
            finish();
          });
        } else finish();
      });
    });

    peer.onFrame((frame) => this.onFrame(frame));
    peer.onClose((reason) => this.close(reason || 'operator closed the channel'));
    this.input.start();
    this.touch();
  }

  get heldOutputBytes(): number {
    return this.output.pendingBytes;
  }

  close(reason: string): void {
    if (this.endReason !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.endReason = reason;
    clearTimeout(this.idleTimer);
    this.child.stdout?.resume();
    this.child.stderr?.resume();
    const pid = this.info.pid;
    signalSession(pid, 'SIGTERM');
    setTimeout(() => sessionPids(pid).length > 0 && signalSession(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  }

  private onFrame(frame: ChannelFrame): void {
    if (this.endReason !== undefined) return;
    this.touch();
    try {
      switch (frame.$case) {
        case 'data': {
          this.input.received(frame.data.byteLength);
          const n = frame.data.byteLength;
          this.child.stdin?.write(frame.data, () => this.input.consumed(n));
          break;
        }
        case 'eof':
          this.child.stdin?.end();
          break;
        case 'window':
          this.output.grant(frame.window.bytes);
          break;
        case 'resize':
          break; // no terminal
        default:
          throw new RemoteError('protocol', `a command channel does not take ${frame.$case} frames`);
      }
    } catch (err) {
      const e = err instanceof RemoteError ? err : new RemoteError('internal', (err as Error).message);
      this.peer.send({ $case: 'error', error: { code: e.code, message: e.message } });
      this.close(`${e.code}: ${e.message}`);
    }
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close('idle timeout'), this.config.idleTimeoutSeconds * 1000);
    this.idleTimer.unref();
  }
}
