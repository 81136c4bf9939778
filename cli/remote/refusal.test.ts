import { describe, expect, it } from 'vitest';
import { exitStatus } from './shell-io';
import { refusalError } from './refusal';

describe('refusals and exit statuses', () => {
  it('keeps the device message, names the code and says what to do', () => {
    const e = refusalError('outside-roots', '/etc/shadow is outside the allowed roots');
    expect(e.message).toBe('/etc/shadow is outside the allowed roots [outside-roots]: only paths under the roots of remote.files.roots can be reached');
    expect(e.exitCode).toBe(1);
  });

  it('exits 3 when the hub refused the role, like every fleetctl command, and 1 otherwise', () => {
    expect(refusalError('forbidden', 'viewer may not open shells').exitCode).toBe(3);
    expect(refusalError('device-offline', 'd is offline').exitCode).toBe(1);
    expect(refusalError('something-new', 'odd').message).toBe('odd [something-new]');
  });

  it("reports a command's code, or 128 + the signal number", () => {
    expect(exitStatus({ code: 7 })).toBe(7);
    expect(exitStatus({ code: 0, signal: 'SIGTERM' })).toBe(143);
    expect(exitStatus({ code: 0, signal: 'SIGKILL' })).toBe(137);
    expect(exitStatus({ code: 0, signal: 'SIGNOPE' })).toBe(255);
  });
});
