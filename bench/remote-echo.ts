// Keystroke echo through the hub (issue #5): one byte typed into a shell on
// a simulated device — this process (the console's side) -> a real
// fleet-hub process (Channel relay, TLS) -> a real `fleet-agent sim`
// process -> the device's pty, whose line discipline echoes it -> back the
// same way — timed until the echo arrives. Against the same keystroke typed
// into `ssh -tt` (a pty shell on a throw-away OpenSSH sshd on 127.0.0.1) in
// the same run. Both shells are /bin/sh; keystrokes alternate a letter and
// a backspace (echoed as "\b \b") so the line never grows. Prints JSON.
//
//   npx tsx bench/remote-echo.ts [KEYSTROKES]     (default 2000)
import { spawn } from 'node:child_process';
import { startRemoteSim } from '../cli/testing/remote-sim';
import { openChannel } from '../cli/remote/channel-client';
import { startTestSshd } from '../tests/support/sshd';

const keys = Number(process.argv[2] ?? 2000);
if (!(keys > 0)) throw new Error('usage: tsx bench/remote-echo.ts [KEYSTROKES]');
const note = (s: string) => process.stderr.write(`bench: ${s}\n`);
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Types `keys` keystrokes one at a time through `send`; `received` is fed every output chunk. */
async function typeAndTime(send: (b: Buffer) => void, subscribe: (onOutput: (text: string) => void) => void): Promise<number[]> {
  let pending: { want: string; got: string; done: () => void } | undefined;
  subscribe((text) => {
    if (!pending) return;
    pending.got += text;
    if (pending.got.includes(pending.want)) pending.done();
  });
  // Let the prompt arrive first.
  await new Promise((r) => setTimeout(r, 500));
  const times: number[] = [];
  for (let i = 0; i < keys; i++) {
    const letter = i % 2 === 0;
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo within 5 s (keystroke ${i})`)), 5_000);
      pending = { want: letter ? 'x' : '\b \b', got: '', done: () => (clearTimeout(timer), resolve()) };
      send(Buffer.from(letter ? 'x' : '\x7f'));
    });
    times.push(performance.now() - t0);
    pending = undefined;
  }
  return times;
}

function stats(times: number[]): { medianMs: number; p99Ms: number; meanMs: number; maxMs: number } {
  const s = [...times].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { medianMs: round(at(0.5)), p99Ms: round(at(0.99)), meanMs: round(s.reduce((a, b) => a + b, 0) / s.length), maxMs: round(s[s.length - 1]) };
}

const sim = await startRemoteSim();
const sshd = await startTestSshd();
try {
  note(`${keys} keystrokes through the hub`);
  const channel = await openChannel(sim.link, sim.deviceIds[0], { kind: { $case: 'shell', shell: { operator: '', cols: 80, rows: 24 } } });
  const ours = await typeAndTime(
    (b) => void channel.write(b),
    (on) =>
      channel.onFrame((f) => {
        if (f.$case !== 'data') return;
        on(f.data.toString('latin1'));
        channel.consumed(f.data.byteLength);
      }),
  );
  channel.close('bench done');

  // The same round trip without the pty: a command session running cat
  // (bytes back unchanged), to tell the relay's share from the pty's.
  note(`${keys} bytes through the hub to cat (no pty)`);
  const cat = await openChannel(sim.link, sim.deviceIds[0], { kind: { $case: 'shell', shell: { operator: '', command: 'cat' } } });
  const catTimes = await typeAndTime(
    (b) => void cat.write(b[0] === 0x7f ? Buffer.from('\b \b') : b),
    (on) =>
      cat.onFrame((f) => {
        if (f.$case !== 'data') return;
        on(f.data.toString('latin1'));
        cat.consumed(f.data.byteLength);
      }),
  );
  cat.close('bench done');

  note(`${keys} keystrokes through ssh -tt`);
  const ssh = spawn('ssh', ['-tt', ...sshd.sshOptions(), '-p', String(sshd.port), `${sshd.username}@127.0.0.1`, '/bin/sh'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const theirs = await typeAndTime(
    (b) => ssh.stdin.write(b),
    (on) => ssh.stdout.on('data', (d: Buffer) => on(d.toString('latin1'))),
  );
  ssh.kill('SIGTERM');

  const o = stats(ours);
  const c = stats(catTimes);
  const t = stats(theirs);
  console.log(
    JSON.stringify(
      {
        benchmark: 'remote-echo',
        keystrokes: keys,
        throughHub: { what: 'bench (console side) -> fleet-hub Channel relay (TLS) -> fleet-agent sim pty (/bin/sh) echo -> back', ...o, targets: { medianUnder1Ms: o.medianMs < 1, p99Under5Ms: o.p99Ms < 5 } },
        throughHubToCat: { what: 'the same path to a command session running cat (pipes, no pty): the relay and agent without the pty', ...c },
        ssh: { what: 'ssh -tt to a local OpenSSH sshd, pty /bin/sh echo', ...t },
        medianRatioVsSsh: round(o.medianMs / t.medianMs, 2),
      },
      null,
      2,
    ),
  );
} finally {
  await sshd.stop();
  await sim.close();
}
