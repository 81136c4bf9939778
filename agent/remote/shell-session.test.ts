import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createChannelPair } from './channel-pair';
import { PtyInput } from './pty-input';
import { ptyModule } from './pty-module';
import { parseRemoteConfig } from './remote-config';
import { ShellSession } from './shell-session';
import { TestOperator } from './test-operator';

// The keystroke path: no timer between a keystroke and its echo, in either
// direction, and no credit round trip that waits on one.

const config = parseRemoteConfig({ shell: { enabled: true, command: ['/bin/sh'] } }).shell;
const sessions: ShellSession[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of sessions.splice(0)) {
    s.close('test over');
    await s.exited;
  }
});

function open(windowBytes?: number): { op: TestOperator; session: ShellSession } {
  const pair = createChannelPair();
  const op = new TestOperator(pair.operator);
  const session = new ShellSession(config, { operator: 'alice' }, pair.device, { windowBytes });
  sessions.push(session);
  return { op, session };
}

/** Waits on the event loop alone (setImmediate), so it works while timers are frozen. */
async function untilWithoutTimers(pred: () => boolean, ms: number, what: string, op: TestOperator): Promise<void> {
  const deadline = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`${what} did not arrive within ${ms} ms with timers frozen; output so far: ${JSON.stringify(op.output.slice(-200))}`);
    await new Promise((r) => setImmediate(r));
  }
}

const count = (text: string, ch: string) => text.split(ch).length - 1;

describe('ShellSession keystroke path', () => {
  it('echoes each lone keystroke with timers frozen: no output coalescing timer, no timer before input credit comes back', async () => {
    // A 2-byte window: the device must hand credit back after every keystroke
    // or the operator cannot type the next one.
    const { op } = open(2);
    await op.until(() => op.output.length > 0, 5000, 'the prompt');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const times: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const t0 = performance.now();
      op.write('x');
      await untilWithoutTimers(() => count(op.output, 'x') >= i, 2000, `the echo of keystroke ${i}`, op);
      times.push(performance.now() - t0);
    }
    vi.useRealTimers();
    expect(times).toHaveLength(20);
    times.sort((a, b) => a - b);
    console.log(`lone keystroke echo in-process (pty, no gRPC): median ${times[10].toFixed(3)} ms, max ${times[19].toFixed(3)} ms`);
  });

  it('writes input straight into a live pty, and drops it once node-pty has closed the master (its fd number may be reused)', async () => {
    const pty = ptyModule().spawn('/bin/sh', ['-c', 'read line; echo "got:$line"'], { encoding: null, cols: 80, rows: 24 });
    const input = new PtyInput(pty);
    let out = '';
    pty.onData((d) => (out += d.toString()));
    const exited = new Promise((r) => pty.onExit(r));
    expect(input.write(Buffer.from('abc\r'))).toBe(true);
    await exited;
    expect(out).toContain('got:abc');
    expect(input.write(Buffer.from('late\r'))).toBe(true);
    expect(input.queuedChunks).toBe(0);
  });

  it('takes a paste larger than the pty buffer in order, paced by credit (the kernel refuses part, node-pty queues the rest)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-paste-'));
    try {
      const file = join(dir, 'pasted');
      const size = 300_000;
      const { op } = open(16 * 1024);
      op.write(`stty raw -echo; echo read''y; head -c ${size} > ${file}; stty sane; echo "got-$(wc -c < ${file})-$(md5sum < ${file} | cut -c1-32)"\r`);
      await op.until(() => op.output.includes('ready'), 5000, 'raw mode');
      const paste = Buffer.alloc(size);
      for (let i = 0; i < size; i++) paste[i] = 97 + ((i * 7 + (i >> 10)) % 26);
      op.write(paste);
      const md5 = createHash('md5').update(paste).digest('hex');
      await op.until(() => op.output.includes(`got-${size}-${md5}`), 15_000, 'the pasted file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
