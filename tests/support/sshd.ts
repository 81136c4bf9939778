import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from './processes';

// A throw-away Debian OpenSSH sshd on 127.0.0.1 for direct-mode tests: its
// own configuration, host key, client key and authorized_keys in a temporary
// folder, a free port, started in the foreground (-D) so the test owns its PID
// and kills exactly that process. Nothing system-wide is created except
// /run/sshd, the privilege-separation folder sshd insists on when run as root.

export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  /** the user the client logs in as (the user running the tests) */
  username: string;
  /** OpenSSH-format private key the server accepts (authorized_keys) */
  clientKeyPem: string;
  clientKeyFile: string;
  /** a private key the server does NOT accept */
  strangerKeyPem: string;
  /** the host key's fingerprint as `ssh-keygen -lf` prints it: SHA256:... */
  hostKeyFingerprint(): string;
  /** Stops sshd, writes a new host key and starts it again on the same port (a "changed host key"). */
  replaceHostKey(): Promise<void>;
  /** ssh options (for `scp`/`ssh` peers in benchmarks) that log in to this sshd with the client key */
  sshOptions(): string[];
  /** everything sshd logged (stderr), for failure messages */
  log(): string;
  /** the temporary folder holding config and keys */
  dir: string;
  stop(): Promise<void>;
}

export interface TestSshdOptions {
  /** environment for every session (sshd_config SetEnv), e.g. a PATH with stand-in tools */
  env?: Record<string, string>;
}

export async function startTestSshd(options: TestSshdOptions = {}): Promise<TestSshd> {
  const dir = tempDir('sshd');
  const p = (name: string) => join(dir.path, name);
  const keygen = (file: string) => {
    rmSync(file, { force: true });
    rmSync(`${file}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleet-test', '-f', file]);
  };
  keygen(p('host_key'));
  keygen(p('client_key'));
  keygen(p('stranger_key'));
  writeFileSync(p('authorized_keys'), readFileSync(p('client_key.pub')));
  chmodSync(dir.path, 0o700);
  chmodSync(p('authorized_keys'), 0o600);
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const port = await freePort();
  const username = userInfo().username;
  writeFileSync(
    p('sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${p('host_key')}`,
      `AuthorizedKeysFile ${p('authorized_keys')}`,
      `PidFile ${p('sshd.pid')}`,
      `AllowUsers ${username}`,
      // Password login would need a password in /etc/shadow for a real user,
      // which a test must not set: this sshd accepts keys only.
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      // The keys live under /tmp (sticky, world-writable), which StrictModes refuses.
      'StrictModes no',
      'AllowTcpForwarding yes',
      'MaxSessions 64',
      'MaxStartups 64:30:128',
      'Subsystem sftp internal-sftp',
      ...Object.entries(options.env ?? {}).map(([k, v]) => `SetEnv ${k}=${JSON.stringify(v)}`),
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', p('sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr!.on('data', (d) => (log += d));
    await waitFor(
      `sshd on 127.0.0.1:${port}`,
      () => {
        if (proc.exitCode !== null) throw new Error(`sshd exited (${proc.exitCode}): ${log}`);
        return canConnect(port);
      },
      10_000,
      50,
    );
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  await start();

  return {
    host: '127.0.0.1',
    port,
    username,
    clientKeyPem: readFileSync(p('client_key'), 'utf8'),
    clientKeyFile: p('client_key'),
    strangerKeyPem: readFileSync(p('stranger_key'), 'utf8'),
    dir: dir.path,
    hostKeyFingerprint: () => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', p('host_key.pub')], { encoding: 'utf8' }).split(' ')[1],
    async replaceHostKey() {
      await stop();
      keygen(p('host_key'));
      await start();
    },
    sshOptions: () => ['-i', p('client_key'), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${p('known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'],
    log: () => log,
    async stop() {
      await stop();
      dir.remove();
    },
  };
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
