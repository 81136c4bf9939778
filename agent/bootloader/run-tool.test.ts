import { describe, expect, it } from 'vitest';
import { slotFromCmdline } from './kernel-cmdline';
import { runTool } from './run-tool';

describe('runTool', () => {
  it('returns stdout and stderr of a successful run, with no shell in between', async () => {
    expect(await runTool('printf', ['%s|', 'a b', '$HOME;'], { pkg: 'coreutils' })).toEqual({ stdout: 'a b|$HOME;|', stderr: '' });
  });

  it('names the package to install when the tool is missing', async () => {
    await expect(runTool('/nonexistent/fw_setenv', ['-s', 'x'], { pkg: 'libubootenv-tool' })).rejects.toThrow('/nonexistent/fw_setenv not found: install libubootenv-tool');
  });

  it('carries the exit code and stderr of a failure', async () => {
    await expect(runTool('sh', ['-c', 'echo first >&2; echo second >&2; exit 3'], { pkg: 'dash' })).rejects.toThrow(
      'sh -c echo first >&2; echo second >&2; exit 3 failed (exit 3): first; second',
    );
  });

  it('kills a tool that hangs', async () => {
    const started = Date.now();
    await expect(runTool('sleep', ['5'], { pkg: 'coreutils', timeoutMs: 200 })).rejects.toThrow('sleep 5 did not finish within 0.2 s and was killed');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('slotFromCmdline', () => {
  it('reads fleet.slot= and nothing else', () => {
    expect(slotFromCmdline('console=ttyS0 root=/dev/mmcblk0p3 fleet.slot=b rootwait\n')).toBe('b');
    expect(slotFromCmdline('fleet.slot=a')).toBe('a');
    expect(slotFromCmdline('root=/dev/sda2 myfleet.slot=b')).toBeNull();
    expect(slotFromCmdline('fleet.slot=c')).toBeNull();
    expect(slotFromCmdline('')).toBeNull();
  });
});
