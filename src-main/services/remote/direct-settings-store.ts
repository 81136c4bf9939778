import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DirectSettings, DirectSettingsView } from '../../common/console-api';
import type { DirectTarget } from '../direct/direct-target';
import { validateDirectTarget } from '../direct/direct-target';

// Per-device direct-mode (SSH) settings. Host, port, user and the key file's
// path are saved in the user data folder; a password or key passphrase is
// kept in memory only (asked again after a restart), so no secret lands on
// disk in clear text.
export class DirectSettingsStore {
  private readonly saved: Record<string, DirectSettingsView>;
  private readonly secrets = new Map<string, { password?: string; passphrase?: string }>();

  constructor(private readonly file: string) {
    this.saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, DirectSettingsView>) : {};
  }

  get(deviceId: string): DirectSettingsView | null {
    return Object.hasOwn(this.saved, deviceId) ? this.saved[deviceId] : null;
  }

  set(deviceId: string, settings: DirectSettings | null): DirectSettingsView | null {
    if (typeof deviceId !== 'string' || !deviceId) throw new Error('direct settings need the device id');
    if (settings === null) {
      delete this.saved[deviceId];
      this.secrets.delete(deviceId);
    } else {
      const target = validateDirectTarget({ deviceId, ...settings });
      const auth = target.auth;
      this.saved[deviceId] = {
        host: target.host,
        port: target.port,
        username: target.username,
        authKind: auth.kind,
        keyFile: auth.kind === 'key' ? (auth.keyFile ?? '') : '',
      };
      this.secrets.set(deviceId, auth.kind === 'password' ? { password: auth.password } : { passphrase: auth.passphrase });
    }
    this.write();
    return this.get(deviceId);
  }

  /** What DirectSessions needs for this device, or a clear error saying what to fill in. */
  target(deviceId: string): DirectTarget {
    const v = this.get(deviceId);
    if (!v) throw new Error(`no direct-mode settings for ${deviceId}: enter its SSH address, user and key under "Direct (SSH)" on the device page`);
    const secret = this.secrets.get(deviceId) ?? {};
    if (v.authKind === 'password' && secret.password === undefined) throw new Error(`the SSH password of ${deviceId} is not kept across restarts: enter it again under "Direct (SSH)"`);
    return validateDirectTarget({
      deviceId,
      host: v.host,
      port: v.port,
      username: v.username,
      auth: v.authKind === 'password' ? { kind: 'password', password: secret.password } : { kind: 'key', keyFile: v.keyFile, passphrase: secret.passphrase },
    });
  }

  private write(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.saved, null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
