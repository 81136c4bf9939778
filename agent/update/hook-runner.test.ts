import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHookRunner, type HookRunnerOptions } from './hook-runner';

let root: string;
let hooksDir: string;
let artifactHooksDir: string;
let trace: string;
let logs: string[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hook-runner-'));
  hooksDir = join(root, 'hooks');
  artifactHooksDir = join(root, 'artifact-hooks');
  trace = join(root, 'trace');
  await mkdir(hooksDir);
  await mkdir(artifactHooksDir);
  logs = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A hook script that appends its name to the trace file, then runs `body`. */
async function hook(dir: string, name: string, body = 'exit 0', mode = 0o755): Promise<void> {
  await writeFile(join(dir, name), `#!/bin/sh\necho ${name} >> '${trace}'\n${body}\n`, { mode });
}
/** Running (a zombie waiting for a reaper that does not reap counts as dead). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && !/^\d+ \(.*\) Z/.test(stat);
}
const traced = async (): Promise<string[]> => (await readFile(trace, 'utf8').catch(() => '')).split('\n').filter(Boolean);
const runner = (o: Partial<HookRunnerOptions> = {}) => createHookRunner({ hooksDir, artifactHooksDir, retryLaterDelayMs: 10, log: (l) => logs.push(l), ...o });

describe('hook runner', () => {
  it('runs device hooks of the state and moment in name order, then the artifact hook', async () => {
    await hook(hooksDir, 'Install_Enter_10_late');
    await hook(hooksDir, 'Install_Enter_02_check-power');
    await hook(hooksDir, 'Install_Enter_01');
    await hook(hooksDir, 'Install_Enter_05_disabled', 'exit 1', 0o644);
    await hook(hooksDir, 'Install_Leave_01'); // another moment
    await hook(hooksDir, 'Install_Enter_1'); // not two digits
    await hook(hooksDir, 'Download_Enter_01'); // another state
    await hook(artifactHooksDir, 'Install_Enter');
    await hook(artifactHooksDir, 'Install_Leave');
    await runner().run('Install', 'Enter');
    expect(await traced()).toEqual(['Install_Enter_01', 'Install_Enter_02_check-power', 'Install_Enter_10_late', 'Install_Enter']);
    expect(logs).toContain(`device hook Install_Enter_05_disabled: skipped, not executable (chmod +x ${join(hooksDir, 'Install_Enter_05_disabled')} to enable it)`);
  });

  it('finds artifact hooks by payload index when given the manifest hooks map', async () => {
    await writeFile(join(artifactHooksDir, '2'), `#!/bin/sh\necho payload-2 >> '${trace}'\n`, { mode: 0o755 });
    await hook(artifactHooksDir, 'Install_Enter'); // not how this layout names files: ignored
    const r = runner({ artifactHooks: { Install_Enter: 2, Download_Enter: 1 } });
    await r.run('Install', 'Enter');
    await r.run('Download', 'Enter'); // named in the manifest but not stored yet
    await r.run('Commit', 'Enter'); // not in the manifest
    expect(await traced()).toEqual(['payload-2']);
    expect(logs).toContain(`artifact hook Download_Enter: skipped, not stored (yet) at ${join(artifactHooksDir, '1')}`);
  });

  it('passes FLEET_STATE, FLEET_MOMENT and the engine environment', async () => {
    await hook(hooksDir, 'Commit_Leave_01', `echo "$FLEET_STATE $FLEET_MOMENT $FLEET_DEPLOYMENT_ID" >> '${trace}'`);
    await runner().run('Commit', 'Leave', { FLEET_DEPLOYMENT_ID: 'd-42' });
    expect(await traced()).toEqual(['Commit_Leave_01', 'Commit Leave d-42']);
  });

  it('runs an artifact hook even when extracted without an execute bit', async () => {
    await hook(artifactHooksDir, 'Download_Enter', 'exit 0', 0o644);
    await runner().run('Download', 'Enter');
    expect(await traced()).toEqual(['Download_Enter']);
    expect((await stat(join(artifactHooksDir, 'Download_Enter'))).mode & 0o111).not.toBe(0);
  });

  it('does nothing without hook folders', async () => {
    await createHookRunner({ hooksDir: join(root, 'none'), log: (l) => logs.push(l) }).run('Verify', 'Enter');
    await createHookRunner({ log: (l) => logs.push(l) }).run('Verify', 'Enter');
    expect(logs).toEqual([]);
  });

  it('runs a hook again when it asks to retry later (exit 21)', async () => {
    const count = join(root, 'count');
    await hook(hooksDir, 'Reboot_Enter_01', `n=$(cat '${count}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${count}'; [ $n -ge 3 ] || exit 21`);
    await hook(hooksDir, 'Reboot_Enter_02');
    await runner({ retryLaterMax: 5 }).run('Reboot', 'Enter');
    expect(await traced()).toEqual(['Reboot_Enter_01', 'Reboot_Enter_01', 'Reboot_Enter_01', 'Reboot_Enter_02']);
    expect(logs.filter((l) => l.includes('asked to retry later'))).toHaveLength(2);
  });

  it('gives up when a hook keeps asking to retry later', async () => {
    await hook(hooksDir, 'Install_Enter_01_busy', 'echo modem busy >&2; exit 21');
    await expect(runner({ retryLaterMax: 2 }).run('Install', 'Enter')).rejects.toThrow(
      /device hook Install_Enter_01_busy .* still asked to retry later \(exit 21\) after 2 retries: giving up; stderr: modem busy/,
    );
    expect(await traced()).toHaveLength(3);
  });

  it('fails with the hook, its exit code and the end of its stderr, and runs no later hook', async () => {
    const noise = Array.from({ length: 30 }, (_, i) => `echo line${i} >&2`).join('\n');
    await hook(hooksDir, 'Download_Leave_01_check', `${noise}\necho 'disk too small' >&2\nexit 3`);
    await hook(hooksDir, 'Download_Leave_02');
    const err = await runner().run('Download', 'Leave').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^device hook Download_Leave_01_check \(.*\) failed: exit 3; stderr: .*line29 \| disk too small$/);
    expect((err as Error).message).not.toContain('line19 |');
    expect(await traced()).toEqual(['Download_Leave_01_check']);
    expect(logs).toContain('device hook Download_Leave_01_check: disk too small');
  });

  it('fails a hook killed by a signal', async () => {
    await hook(artifactHooksDir, 'Verify_Enter', 'kill -9 $$');
    await expect(runner().run('Verify', 'Enter')).rejects.toThrow(/artifact hook Verify_Enter .* failed: killed by SIGKILL/);
  });

  it('kills a hook that overstays its timeout, with everything it started', async () => {
    const pidFile = join(root, 'bg.pid');
    await hook(hooksDir, 'Commit_Enter_01_hang', `sleep 30 & echo $! > '${pidFile}'\nsleep 30`);
    const started = Date.now();
    await expect(runner({ timeoutMs: 500 }).run('Commit', 'Enter')).rejects.toThrow(/device hook Commit_Enter_01_hang .* failed: timed out after 0.5 s and was killed/);
    expect(Date.now() - started).toBeLessThan(5000);
    const bg = Number(await readFile(pidFile, 'utf8'));
    await sleep(100);
    expect(await alive(bg)).toBe(false); // the background sleep died with its group
  });

  it('runs every Error hook, then throws the first failure', async () => {
    await hook(hooksDir, 'Install_Error_01', 'exit 4');
    await hook(hooksDir, 'Install_Error_02');
    await hook(artifactHooksDir, 'Install_Error', 'exit 5');
    await expect(runner().run('Install', 'Error')).rejects.toThrow(/Install_Error_01 .* failed: exit 4/);
    expect(await traced()).toEqual(['Install_Error_01', 'Install_Error_02', 'Install_Error']);
    expect(logs.some((l) => /artifact hook Install_Error .* failed: exit 5/.test(l))).toBe(true);
  });
});
