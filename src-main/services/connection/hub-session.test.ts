import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningHub } from '../../../hub/hub';
import { createConsoleApp, type ConsoleApp } from '../console-app';
import { hubDevices, startTestDevices, startTestHub, TempDirs, waitFor } from '../testing/test-fleet';

// Trust and login against a REAL hub: probe, pinned fingerprint, token check,
// the saved context and what disconnect leaves on disk.

const temp = new TempDirs();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  temp.removeAll();
});

async function hub(): Promise<RunningHub> {
  const h = await startTestHub(join(temp.make('session-hub-'), 'hub'));
  cleanups.push(() => h.close());
  return h;
}

async function app(userDataDir = temp.make('console-'), lines: string[] = []): Promise<ConsoleApp> {
  const a = await createConsoleApp({ userDataDir, log: (l) => lines.push(l) });
  cleanups.push(() => a.close());
  return a;
}

describe('hub session', () => {
  it('probes without trusting, connects, saves the context 0600 and reports it trusted', async () => {
    const h = await hub();
    const dir = temp.make('console-');
    const lines: string[] = [];
    const a = await app(dir, lines);
    expect(await a.api.connection.state()).toMatchObject({ phase: 'disconnected', hub: '' });
    const probe = await a.api.connection.probe(h.address);
    expect(probe).toMatchObject({ hub: h.address, fingerprint: h.fingerprint, trusted: false });

    const state = await a.api.connection.connect({ hub: h.address, token: h.adminToken, fingerprint: probe.fingerprint.toLowerCase() });
    expect(state).toMatchObject({ hub: h.address, fingerprint: h.fingerprint, hubId: h.hubId, operator: expect.any(String), role: 'admin', embedded: false });
    const file = join(dir, 'contexts.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).current).toMatchObject({ hub: h.address, token: h.adminToken, hubId: h.hubId, certPem: h.certPem });
    expect((await a.api.connection.probe(h.address)).trusted).toBe(true);
    expect(lines.join('\n')).not.toContain(h.adminToken);
  });

  it('refuses a token the hub does not know, saving nothing', async () => {
    const h = await hub();
    const dir = temp.make('console-');
    const a = await app(dir);
    const probe = await a.api.connection.probe(h.address);
    await expect(a.api.connection.connect({ hub: h.address, token: 'not-the-token', fingerprint: probe.fingerprint })).rejects.toThrow(/the hub refused the token/);
    expect((await a.api.connection.state()).phase).toBe('disconnected');
    expect(() => readFileSync(join(dir, 'contexts.json'))).toThrow();
  });

  it('refuses a hub whose certificate is not the one the operator accepted', async () => {
    const h = await hub();
    const other = await hub();
    const a = await app();
    await expect(a.api.connection.connect({ hub: h.address, token: h.adminToken, fingerprint: other.fingerprint })).rejects.toThrow(
      `the hub's certificate changed: expected ${other.fingerprint}, got ${h.fingerprint}`,
    );
    expect((await a.api.connection.state()).phase).toBe('disconnected');
  });

  it('explains bad input and an unreachable hub', async () => {
    const a = await app();
    await expect(a.api.connection.probe('no-port')).rejects.toThrow(/HOST:PORT/);
    await expect(a.api.connection.probe('127.0.0.1:1')).rejects.toThrow(/cannot reach hub 127.0.0.1:1/);
    await expect(a.api.connection.connect({ hub: '127.0.0.1:1', token: '', fingerprint: 'AA' })).rejects.toThrow(/token is empty/);
    await expect(a.api.connection.connect({ hub: '127.0.0.1:1', token: 't', fingerprint: 'AA' })).rejects.toThrow(/not a SHA-256 fingerprint/);
    await expect(a.api.devices.accept(['x'])).rejects.toThrow(/not connected to a hub — admission needs the hub/);
  });

  it('starts disconnected, saying why, when the saved context is damaged', async () => {
    const dir = temp.make('console-');
    writeFileSync(join(dir, 'contexts.json'), '{"current": ');
    const lines: string[] = [];
    const a = await app(dir, lines);
    expect((await a.api.connection.state()).phase).toBe('disconnected');
    expect(lines.join('\n')).toMatch(/cannot read the saved hub connection/);
  });

  it('stops retrying and says so when the saved token is refused', async () => {
    const h = await hub();
    const dir = temp.make('console-');
    writeFileSync(
      join(dir, 'contexts.json'),
      JSON.stringify({ version: 1, current: { hub: h.address, token: 'revoked', fingerprint: h.fingerprint, certPem: h.certPem, hubId: h.hubId, operator: 'admin', role: 'admin' }, trusted: {} }),
      { mode: 0o600 },
    );
    const lines: string[] = [];
    const a = await app(dir, lines);
    const state = await waitFor('auth error', async () => {
      const s = await a.api.connection.state();
      return s.error ? s : null;
    });
    expect(state.phase).toBe('offline');
    expect(state.error).toMatch(/not authenticated.*connect again with a valid operator token/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(lines.filter((l) => l.includes('not authenticated'))).toHaveLength(1);
    expect(lines.join('\n')).not.toContain('revoked');
  });

  it('accepts devices through the hub; the change comes back through Watch', async () => {
    const h = await hub();
    const sim = await startTestDevices(h, temp.make('devices-'), 3);
    cleanups.push(() => sim.close());
    await waitFor('3 devices enrolled', async () => (await hubDevices(h)).length === 3);
    const a = await app();
    const probe = await a.api.connection.probe(h.address);
    await a.api.connection.connect({ hub: h.address, token: h.adminToken, fingerprint: probe.fingerprint });
    await waitFor('3 pending cached', async () => (await a.api.devices.query({ status: 'pending' })).total === 3);
    const [first, second, third] = (await a.api.devices.query({})).rows.map((r) => r.id);

    expect(await a.api.devices.accept([first, 'no-such-device'])).toEqual({ changed: [first], notFound: ['no-such-device'] });
    await waitFor('accepted device online in the cache', async () => (await a.api.devices.get(first))?.online);
    expect(await a.api.devices.reject([second])).toEqual({ changed: [second], notFound: [] });
    await waitFor('rejected in the cache', async () => (await a.api.devices.get(second))?.status === 'rejected');

    const serial = (await a.api.devices.get(third))!.identity.serial;
    expect(await a.api.devices.acceptAllMatching({ text: 'nothing-matches-this' })).toEqual({ changed: [], notFound: [] });
    expect((await a.api.devices.acceptAllMatching({ text: serial.toLowerCase() })).changed).toEqual([third]);
    await waitFor('all matching accepted', async () => (await a.api.devices.query({})).counts.accepted === 2);
    await expect(a.api.devices.accept([])).rejects.toThrow(/no devices selected/);
  });

  it('disconnect stops syncing and forgets the token but keeps the cache', async () => {
    const h = await hub();
    const sim = await startTestDevices(h, temp.make('devices-'), 1);
    cleanups.push(() => sim.close());
    const dir = temp.make('console-');
    const a = await app(dir);
    const probe = await a.api.connection.probe(h.address);
    await a.api.connection.connect({ hub: h.address, token: h.adminToken, fingerprint: probe.fingerprint });
    await waitFor('device cached', async () => (await a.api.devices.query({})).total === 1);

    const state = await a.api.connection.disconnect();
    expect(state).toMatchObject({ phase: 'disconnected', hub: '', operator: '' });
    expect(readFileSync(join(dir, 'contexts.json'), 'utf8')).not.toContain(h.adminToken);
    expect((await a.api.devices.query({})).total).toBe(1);
    await a.close();
    // A restart has nothing to resume.
    const b = await app(dir);
    expect((await b.api.connection.state()).phase).toBe('disconnected');
    expect((await b.api.connection.probe(h.address)).trusted).toBe(true);
  });
});
