import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createChannelPair } from './channel-pair';
import { sessionPids } from './process-session';
import { parseRemoteConfig } from './remote-config';
import { ShellSessions } from './shell-sessions';
import { TestOperator } from './test-operator';

const shells = new ShellSessions(parseRemoteConfig({ shell: { enabled: true, command: '/bin/sh' } }).shell);
afterEach(() => shells.closeAll('test over'));

function run(command: string, opts: { keepGranting?: boolean; windowBytes?: number } = {}) {
  const pair = createChannelPair();
  const op = new TestOperator(pair.operator, opts);
  const session = shells.open({ operator: 'alice', command }, pair.device);
  return { op, session };
}

describe('command sessions', () => {
  it('runs a command with separate stdout and stderr, byte for byte, and reports its status', async () => {
    const { op, session } = run('printf "out\\n"; printf "err\\n" >&2; exit 5');
    expect(await session.exited).toEqual({ code: 5, reason: 'exit' });
    await op.closed;
    expect(op.output).toBe('out\n'); // no pty: no CRLF, no echo
    expect(op.stderr).toBe('err\n');
    expect(op.frameOf('exit')!.exit).toEqual({ code: 5 });
  });

  it('pipes stdin through, paced by credit, until eof', async () => {
    const data = randomBytes(1024 * 1024);
    const { op, session } = run('sha256sum');
    op.write(data);
    await op.drained();
    op.send({ $case: 'eof', eof: {} });
    expect((await session.exited).code).toBe(0);
    expect(op.output).toContain(createHash('sha256').update(data).digest('hex'));
  });

  it('reports the signal that ended the command', async () => {
    const { session, op } = run('kill -TERM $$');
    expect(await session.exited).toMatchObject({ signal: 'SIGTERM' });
    await op.closed;
    expect(op.frameOf('exit')!.exit.signal).toBe('SIGTERM');
  });

  it('ends the command and its children when the operator closes', async () => {
    const { op, session } = run('sleep 300 & echo $!; wait');
    await op.until(() => /\d+\n/.test(op.output), 5000, 'child pid');
    const child = Number(op.output.trim());
    op.peer.close('cancelled');
    expect((await session.exited).reason).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 100));
    expect(sessionPids(session.info.pid)).not.toContain(child);
  });

  it('holds output to the window when the operator stops granting', async () => {
    const windowBytes = 64 * 1024;
    const { op, session } = run('head -c 100000000 /dev/zero', { keepGranting: false, windowBytes });
    await op.until(() => op.received >= windowBytes, 5000, 'first window');
    await new Promise((r) => setTimeout(r, 500));
    expect(op.received).toBe(windowBytes);
    expect(session.heldOutputBytes).toBeLessThanOrEqual(2 * 64 * 1024); // one read per pipe at most
    op.peer.close('stop');
    await session.exited;
  });
});
