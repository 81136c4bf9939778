import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from '../../tests/support/processes';

// Same-run peer for the download benchmark: Debian's OpenSSH sshd on
// 127.0.0.1 with a throw-away configuration, host key and client key, so
// `scp` copies to it exactly as an operator would copy an image by hand.

export interface LocalSshd {
  port: number;
  /**
   * `scp` of `file` to `dest` on this sshd (`download`: of `file` on it to
   * `dest` here), through `port` when given (a proxy in front of this sshd):
   * wall time, and CPU of scp, ssh and the sshd session together.
   */
  scp(file: string, dest: string, opts?: { download?: boolean; port?: number }): Promise<{ ms: number; cpuSeconds: number }>;
  stop(): Promise<void>;
}

export async function startLocalSshd(): Promise<LocalSshd> {
  const dir = tempDir('bench-sshd');
  const p = (name: string) => join(dir.path, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', p('host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', p('client_key')]);
  execFileSync('cp', [p('client_key.pub'), p('authorized_keys')]);
  chmodSync(dir.path, 0o700);
  chmodSync(p('authorized_keys'), 0o600);
  // Running as root, sshd needs its privilege-separation folder (Debian's service makes it).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const port = await freePort();
  writeFileSync(
    p('sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${p('host_key')}`,
      `AuthorizedKeysFile ${p('authorized_keys')}`,
      `PidFile ${p('sshd.pid')}`,
      `AllowUsers ${userInfo().username}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      // The keys live under /tmp (sticky, world-writable), which StrictModes refuses.
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  // -D: stay in the foreground so we own the process; -e: log to stderr.
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', p('sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  await waitFor(
    `sshd on 127.0.0.1:${port}`,
    () => {
      if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log}`);
      return canConnect(port);
    },
    10_000,
    100,
  );
  const sshOptions = (via = port) => ['-i', p('client_key'), '-P', String(via), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${p('known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];
  return {
    port,
    // Not execFileSync: a proxy in this process (tests/support/delay-proxy.ts) must keep running meanwhile.
    async scp(file, dest, opts = {}) {
      const remote = (path: string) => `${userInfo().username}@127.0.0.1:${path}`;
      const cpu0 = reapedChildrenCpu('self') + reapedChildrenCpu(child.pid!);
      const t0 = performance.now();
      const scp = spawn('scp', ['-q', ...sshOptions(opts.port), ...(opts.download ? [remote(file), dest] : [file, remote(dest)])], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
      let stderr = '';
      scp.stderr!.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve, reject) => {
        scp.once('error', reject);
        scp.once('close', resolve);
      });
      if (code !== 0) throw new Error(`scp with the local sshd failed (exit ${code}): ${stderr}\nsshd log:\n${log.slice(-2000)}`);
      const ms = performance.now() - t0;
      // scp (and the ssh it runs) are reaped by us, the session by sshd.
      return { ms, cpuSeconds: reapedChildrenCpu('self') + reapedChildrenCpu(child.pid!) - cpu0 };
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      dir.remove();
    },
  };
}

/** CPU seconds (user + system) of the children a process has waited for, from /proc (Linux). */
function reapedChildrenCpu(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name start at index 2 (state); cutime and cstime are fields 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
