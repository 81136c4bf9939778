import Database from 'better-sqlite3';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { certificateFingerprint } from '../proto/tls-fingerprint';
import { startHub, type RunningHub } from './hub';
import { openControlStream } from './testing/control-stream';
import { enroll, makeDeviceKey } from './testing/device-identity';
import { bearer, call, consoleClient, deviceClient, eventually } from './testing/grpc-clients';
import { runHubProcess, stopHubProcess, waitForListening, type HubProcess } from './testing/hub-process';
import { migrations } from './store/migrations';
import { makeTempDir } from './testing/test-hub';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = makeTempDir();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function hubIn(dir: string): Promise<RunningHub> {
  const hub = await startHub({ dataDir: dir, listen: '127.0.0.1:0' });
  cleanups.push(() => hub.close());
  return hub;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('hub data folder', () => {
  it('creates key, certificate, admin token and a WAL database with the right modes', async () => {
    const dir = tempDir();
    const hub = await hubIn(join(dir, 'nested', 'data'));
    const data = join(dir, 'nested', 'data');
    expect(mode(join(data, 'hub.key'))).toBe(0o600);
    expect(mode(join(data, 'admin.token'))).toBe(0o600);
    expect(mode(join(data, 'hub.db'))).toBe(0o600);
    expect(hub.certPath).toBe(join(data, 'hub.crt'));
    expect(hub.adminTokenPath).toBe(join(data, 'admin.token'));
    expect(readFileSync(hub.adminTokenPath, 'utf8').trim()).toBe(hub.adminToken);

    const cert = new X509Certificate(readFileSync(hub.certPath));
    expect(cert.subject).toBe(`CN=fleet-hub ${hub.hubId}`);
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.subjectAltName).toContain(`DNS:${hostname()}`);
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('IP Address:0:0:0:0:0:0:0:1');
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 10 * 365 * 86_400_000);
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(data, 'hub.key'))))).toBe(true);
    expect(hub.fingerprint).toBe(certificateFingerprint(cert.raw));
    expect(hub.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await hub.close();

    const db = new Database(join(data, 'hub.db'), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT MAX(version) AS v FROM schema_version').get()).toEqual({ v: migrations[migrations.length - 1].version });
      const admin = db.prepare('SELECT name, role, token_sha256 FROM operators').all() as { token_sha256: string }[];
      expect(admin).toHaveLength(1);
      expect(admin[0]).toMatchObject({ name: 'admin', role: 'admin' });
      // Only the hash is stored, never the token itself.
      expect(JSON.stringify(db.prepare('SELECT * FROM operators').all())).not.toContain(hub.adminToken);
    } finally {
      db.close();
    }
  });

  it('keeps certificate, admin token, hub id and devices across restarts', async () => {
    const dir = tempDir();
    const first = await hubIn(dir);
    const key = makeDeviceKey();
    const dc = deviceClient(first);
    const { deviceId } = await enroll(dc, key, { device_type: 'keep' });
    dc.close();
    await first.close();

    const second = await hubIn(dir);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(second.certPem).toBe(first.certPem);
    expect(second.adminToken).toBe(first.adminToken);
    expect(second.hubId).toBe(first.hubId);
    const cc = consoleClient(second);
    try {
      const device = await call(cc, cc.getDevice, { id: deviceId }, bearer(second.adminToken));
      expect(device.identity).toEqual({ device_type: 'keep' });
    } finally {
      cc.close();
    }
  });

  it('marks devices left online by a killed hub offline before serving', async () => {
    const dir = tempDir();
    let proc: HubProcess | undefined = runHubProcess(['--data', dir, '--listen', '127.0.0.1:0']);
    cleanups.push(() => stopHubProcess(proc));
    const address = await waitForListening(proc);
    const endpoint = { address, certPem: readFileSync(join(dir, 'hub.crt'), 'utf8') };
    const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
    const dc = deviceClient(endpoint);
    const cc = consoleClient(endpoint);
    const key = makeDeviceKey();
    const device = await call(cc, cc.preauthorizeDevice, { publicKey: key.publicKey, identity: { device_type: 'crash' } }, bearer(token));
    const stream = openControlStream(dc, (await enroll(dc, key, { device_type: 'crash' })).token);
    await stream.next();
    await eventually(async () => (await call(cc, cc.getDevice, { id: device.id }, bearer(token))).online, 5000, 'online');
    proc.child.kill('SIGKILL');
    await proc.exited;
    proc = undefined;
    await stream.ended;
    dc.close();
    cc.close();

    const hub = await hubIn(dir);
    const after = await hub.store.getDevice(device.id);
    expect(after?.online).toBe(false);
    const events = await hub.store.eventsAfter(0, 1000);
    expect(events.at(-1)).toMatchObject({ kind: 'device.offline', actor: 'hub', entityId: device.id });
  });
});
