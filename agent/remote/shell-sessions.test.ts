import { afterEach, describe, expect, it } from 'vitest';
import { createChannelPair } from './channel-pair';
import { parseRemoteConfig, type ShellConfig } from './remote-config';
import { RemoteError } from './remote-error';
import { sessionPids } from './process-session';
import { ShellSessions } from './shell-sessions';
import { TestOperator } from './test-operator';

const shellConfig = (over: Partial<ShellConfig> = {}): ShellConfig => ({
  ...parseRemoteConfig({ shell: { enabled: true, command: ['/bin/sh'], maxSessions: 3, maxSessionsPerOperator: 2 } }).shell,
  ...over,
});

const services: ShellSessions[] = [];
function service(config: ShellConfig): ShellSessions {
  const s = new ShellSessions(config);
  services.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.closeAll('test over')));
});

function open(shells: ShellSessions, operatorName = 'alice', opts: { cols?: number; rows?: number; keepGranting?: boolean; windowBytes?: number } = {}) {
  const pair = createChannelPair();
  const op = new TestOperator(pair.operator, { keepGranting: opts.keepGranting, windowBytes: opts.windowBytes });
  const session = shells.open({ operator: operatorName, cols: opts.cols, rows: opts.rows }, pair.device);
  return { op, session, pair };
}

describe('ShellSessions', () => {
  it('echoes a command through a real pty with TERM=xterm-256color, and reports the exit code', async () => {
    const { op, session } = open(service(shellConfig()));
    const tag = `hello-${Math.floor(Math.random() * 1e9)}`;
    op.write(`echo ${tag}-$TERM\r`);
    await op.until(() => op.output.includes(`${tag}-xterm-256color\r\n`), 5000, 'the echo');
    op.write('exit 7\r');
    const exit = await session.exited;
    expect(exit).toEqual({ code: 7, reason: 'exit' });
    await op.closed;
    expect(op.frameOf('exit')?.exit).toEqual({ code: 7 });
  });

  it('applies the initial size and resizes (seen by stty size)', async () => {
    const { op } = open(service(shellConfig()), 'alice', { cols: 100, rows: 30 });
    op.write('stty size\r');
    await op.until(() => op.output.includes('30 100'), 5000, 'initial size');
    op.send({ $case: 'resize', resize: { cols: 132, rows: 43 } });
    op.write('stty size\r');
    await op.until(() => op.output.includes('43 132'), 5000, 'new size');
  });

  it('ends an idle session and kills its processes', async () => {
    const { op, session } = open(service(shellConfig({ idleTimeoutSeconds: 1 })));
    op.write('sleep 300 & echo started-$!\r');
    await op.until(() => /started-\d+/.test(op.output), 5000, 'background job');
    const sleeper = Number(/started-(\d+)/.exec(op.output)![1]);
    const t0 = Date.now();
    const exit = await session.exited;
    expect(exit.reason).toBe('idle timeout');
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(await op.closed).toBe('idle timeout');
    await new Promise((r) => setTimeout(r, 100));
    expect(sessionPids(session.info.pid)).not.toContain(sleeper);
  });

  it('kills the whole process session when the operator closes the channel', async () => {
    const { op, session } = open(service(shellConfig()));
    // A job in its own process group (set -m) must die too.
    op.write('set -m; sleep 300 & echo job-$!\r');
    await op.until(() => /job-\d+/.test(op.output), 5000, 'job');
    const job = Number(/job-(\d+)/.exec(op.output)![1]);
    expect(sessionPids(session.info.pid)).toContain(job);
    op.peer.close('console closed the tab');
    const exit = await session.exited;
    expect(exit.reason).toBe('console closed the tab');
    await new Promise((r) => setTimeout(r, 100));
    expect(sessionPids(session.info.pid)).toEqual([]);
  });

  it('enforces total and per-operator limits, and frees slots when sessions end', async () => {
    const shells = service(shellConfig());
    const a1 = open(shells, 'alice');
    open(shells, 'alice');
    expect(() => open(shells, 'alice')).toThrow(/operator alice already has 2 shell sessions open/);
    open(shells, 'bob');
    const pair = createChannelPair();
    const refused = new TestOperator(pair.operator);
    expect(() => shells.open({ operator: 'carol' }, pair.device)).toThrow(RemoteError);
    await refused.closed;
    expect(refused.frameOf('error')?.error.code).toBe('too-many-sessions');
    expect(shells.list()).toHaveLength(3);
    a1.op.write('exit\r');
    await a1.session.exited;
    expect(shells.list()).toHaveLength(2);
    expect(() => open(shells, 'carol')).not.toThrow();
  });

  it('delivers all output held for credit before the exit frame', async () => {
    const { op, session } = open(service(shellConfig()), 'alice', { keepGranting: false, windowBytes: 16 * 1024 });
    op.write('seq 1 30000; exit 3\r');
    await op.until(() => op.received >= 16 * 1024, 5000, 'first window');
    await new Promise((r) => setTimeout(r, 300));
    expect(op.received).toBe(16 * 1024);
    op.grant(4 * 1024 * 1024);
    expect((await session.exited).code).toBe(3);
    await op.closed;
    expect(op.output.slice(-40)).toContain('\r\n29999\r\n30000\r\n');
    expect(op.frames.at(-1)?.$case).toBe('exit');
  });

  it('keeps the output of a shell that exits while the operator grants no credit', async () => {
    const { op, session } = open(service(shellConfig()), 'alice', { keepGranting: false, windowBytes: 4096 });
    op.write('seq 1 3000; exit 4\r');
    await op.until(() => op.received >= 4096, 5000, 'first window');
    await new Promise((r) => setTimeout(r, 600)); // the shell is gone; node-pty closes its stream 200 ms after
    expect(op.received).toBe(4096);
    op.grant(1024 * 1024);
    expect((await session.exited).code).toBe(4);
    await op.closed;
    expect(op.output.slice(-20)).toContain('\r\n2999\r\n3000\r\n');
  });

  it('refuses when disabled, with a clear error on the channel', async () => {
    const shells = service(shellConfig({ enabled: false }));
    expect(() => shells.check('alice')).toThrow(/remote shell is disabled on this device/);
    const pair = createChannelPair();
    const op = new TestOperator(pair.operator);
    expect(() => shells.open({ operator: 'alice' }, pair.device)).toThrow(/disabled/);
    await op.closed;
    expect(op.frameOf('error')?.error).toEqual({ code: 'disabled', message: expect.stringContaining('remote.shell.enabled') });
  });

  it.runIf(process.getuid?.() === 0)('runs the shell as the configured user with only that user\'s groups', async () => {
    const { op } = open(service(shellConfig({ user: 'nobody' })));
    op.write('echo "who=$(id -un) groups=$(id -G)"\r');
    await op.until(() => /who=nobody groups=[\d ]+\r\n/.test(op.output), 5000, 'id');
    const groups = /who=nobody groups=([\d ]+)\r\n/.exec(op.output)![1].trim().split(' ');
    expect(groups).not.toContain('0');
  });

  it('refuses an unknown shell user', () => {
    const shells = service(shellConfig({ user: 'no-such-user-xyz' }));
    expect(() => shells.check('alice')).toThrow(/shell user "no-such-user-xyz" does not exist/);
  });

  it('keeps memory bounded when the operator stops granting credit while the shell prints at full speed', async () => {
    const windowBytes = 64 * 1024;
    const { op, session } = open(service(shellConfig()), 'alice', { keepGranting: false, windowBytes });
    op.write('yes 0123456789012345678901234567890123456789\r');
    await op.until(() => op.received >= windowBytes, 5000, 'first window');
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    await new Promise((r) => setTimeout(r, 1500));
    const rss1 = process.memoryUsage().rss;
    const held = session.heldOutputBytes;
    // Without flow control `yes` writes tens of MB per second into our memory.
    expect(op.received).toBe(windowBytes);
    expect(held).toBeLessThanOrEqual(64 * 1024);
    expect(rss1 - rss0).toBeLessThan(20 * 1024 * 1024);
    // Not stuck: credit makes output flow again.
    op.grant(1024 * 1024);
    await op.until(() => op.received >= windowBytes + 1024 * 1024, 5000, 'output after new credit');
    // A console that goes away while the shell is blocked on output ends the session.
    op.peer.close('console gone');
    expect((await session.exited).reason).toBe('console gone');
    console.log(`shell backpressure: ${op.received} B delivered, ${held} B held, rss growth ${((rss1 - rss0) / 1048576).toFixed(1)} MiB over 1.5 s`);
  });
});
