import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { ShellConfig } from './remote-config';
import { RemoteError } from './remote-error';

// How to start the shell as the configured user.
// node-pty's uid/gid options call setgid/setuid but not setgroups, so the
// shell would keep the agent's supplementary groups (root's, when the agent is
// root) — measured: a root agent in groups adm,sudo gave a "nobody" shell
// those groups. So when the user changes, we start the shell through
// util-linux `setpriv --init-groups` (the user's own groups, nothing else);
// without setpriv we use node-pty's uid/gid only if the agent has no
// supplementary groups to leak, and refuse otherwise.

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface SpawnPlan {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  uid?: number;
  gid?: number;
  /** The user the shell runs as (for the session bar and the audit log). */
  user: string;
}

const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv'];

/** Looks a user up by name or numeric id (NSS through getent when present, else /etc/passwd). */
export function lookupUser(nameOrId: string): PasswdEntry | undefined {
  let lines: string[];
  try {
    lines = execFileSync('getent', ['passwd', nameOrId], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return undefined; // getent ran: exit 2 = no such user
    lines = readFileSync('/etc/passwd', 'utf8').split('\n');
  }
  for (const line of lines) {
    const f = line.split(':');
    if (f.length < 7) continue;
    if (f[0] === nameOrId || f[2] === nameOrId) return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] };
  }
  return undefined;
}

function supplementaryGroups(): string[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('Groups:'));
    return line ? line.slice(7).trim().split(/\s+/).filter(Boolean) : [];
  } catch {
    return [];
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Decides program, user switch, folder and environment; throws `misconfigured` with what to fix. */
export function shellSpawnPlan(config: ShellConfig, baseEnv: NodeJS.ProcessEnv = process.env): SpawnPlan {
  const me = userInfo();
  const target = config.user === undefined ? undefined : lookupUser(config.user);
  if (config.user !== undefined && !target) throw new RemoteError('misconfigured', `shell user "${config.user}" does not exist on this device; fix remote.shell.user in the agent config`);
  const switching = target !== undefined && target.uid !== me.uid;
  if (switching && me.uid !== 0) throw new RemoteError('misconfigured', `shell user "${config.user}" differs from the agent's user (${me.username}) and the agent is not root, so it cannot switch; run the agent as root or remove remote.shell.user`);

  const entry: PasswdEntry = target ?? { name: me.username, uid: me.uid, gid: me.gid, home: me.homedir, shell: me.shell ?? '' };
  const loginShell = entry.shell && !/(nologin|false)$/.test(entry.shell) && existsSync(entry.shell) ? entry.shell : '/bin/sh';
  const [program, ...programArgs] = config.command ?? [loginShell];
  if (!existsSync(program)) throw new RemoteError('misconfigured', `shell program ${program} does not exist on this device; fix remote.shell.command`);

  const home = isDir(entry.home) ? entry.home : '/';
  const env: Record<string, string> = {
    TERM: 'xterm-256color',
    COLORTERM: 'truecolor',
    HOME: home,
    USER: entry.name,
    LOGNAME: entry.name,
    SHELL: program,
    PATH: baseEnv.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: baseEnv.LANG ?? 'C.UTF-8',
  };
  const plan: SpawnPlan = { file: program, args: programArgs, cwd: home, env, user: entry.name };
  if (!switching) return plan;

  const setpriv = SETPRIV_PATHS.find((p) => existsSync(p));
  if (setpriv) {
    return { ...plan, file: setpriv, args: [`--reuid=${entry.uid}`, `--regid=${entry.gid}`, '--init-groups', '--', program, ...programArgs] };
  }
  const groups = supplementaryGroups();
  if (groups.some((g) => Number(g) !== entry.gid)) {
    throw new RemoteError('misconfigured', `cannot drop the agent's supplementary groups (${groups.join(',')}) for shell user "${entry.name}" without util-linux setpriv; install it or run the agent without supplementary groups`);
  }
  return { ...plan, uid: entry.uid, gid: entry.gid };
}
