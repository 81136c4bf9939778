import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestCertificate, ScriptedHub } from '../testing/scripted-hub';
import { waitFor } from '../testing/wait-for';
import { simIdentity, simInventory, simMac } from './sim-device';
import { evenShare, startSimulator } from './simulator';

const stateDir = mkdtempSync(join(tmpdir(), 'agent-sim-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('simulated device data', () => {
  const keyA = Buffer.alloc(32, 1);
  const keyB = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7));

  it('picks an exact, evenly spread share of devices for simulated health failures', () => {
    const chosen = (p: number, n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter(evenShare(p));
    expect(chosen(6, 200)).toEqual([17, 34, 50, 67, 84, 100, 117, 134, 150, 167, 184, 200]);
    expect(chosen(0, 50)).toEqual([]);
    expect(chosen(100, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(chosen(2.5, 1000)).toHaveLength(25);
    expect(() => evenShare(101)).toThrow('a share must be a percent from 0 to 100, got 101');
  });

  it('derives identity from the key: type, SIM- serial, locally administered MAC', () => {
    expect(simIdentity('gw', keyA)).toEqual({ device_type: 'gw', serial: 'SIM-010101010101', mac: '02:01:01:01:01:01' });
    expect(simMac(keyB)).toBe('02:00:07:0e:15:1c');
  });

  it('makes plausible inventories that differ per device and stay stable', () => {
    const a = simInventory(1, keyA);
    const b = simInventory(2, keyB);
    expect(a).toMatchObject({ 'os.id': 'fleetos', 'os.pretty_name': 'FleetOS 1.0 (simulated)', hostname: 'sim-00001', 'rootfs.active': 'a', simulated: 'true', 'net.eth0.ipv4': '10.0.0.1' });
    expect(b.hostname).toBe('sim-00002');
    expect(a['net.eth0.mac']).not.toBe(b['net.eth0.mac']);
    expect(simInventory(1, keyA)).toEqual(a);
    for (const v of Object.values(a)) expect(v).not.toBe('');
  });
});

describe('startSimulator', () => {
  it('runs N devices, each with its own key, folder and TLS connection', async () => {
    const cert = makeTestCertificate();
    const hub = new ScriptedHub(cert, { heartbeatIntervalMs: 200 });
    await hub.listen();
    const sim = await startSimulator({ hub: hub.address, caPem: cert.certPem, devices: 5, stateDir, deviceType: 'sim-gw', connectSpreadMs: 100, backoff: { baseMs: 50, maxMs: 400 } });
    try {
      await waitFor('all pending', () => sim.counts().pending === 5);
      expect(sim.counts()).toMatchObject({ pending: 5, online: 0, backoff: 0 });
      for (let i = 1; i <= 5; i++) expect(existsSync(join(stateDir, `dev-0000${i}`, 'identity.key'))).toBe(true);
      for (const key of hub.devices.keys()) hub.setAdmission(key, 'accepted');
      await waitFor('all online', () => sim.counts().online === 5);
      // Five devices, five separate HTTP/2 connections (distinct client ports).
      expect(hub.peers.size).toBe(5);
      const devices = [...hub.devices.values()];
      await waitFor('inventories', () => devices.every((d) => d.reports.length > 0));
      expect(new Set(devices.map((d) => d.inventory.hostname))).toEqual(new Set(['sim-00001', 'sim-00002', 'sim-00003', 'sim-00004', 'sim-00005']));
      expect(devices.every((d) => d.identity.device_type === 'sim-gw' && d.identity.serial.startsWith('SIM-'))).toBe(true);
      expect(new Set(sim.agents.map((a) => a.deviceId)).size).toBe(5);
    } finally {
      await sim.close();
      hub.kill();
    }
    expect(sim.counts().stopped).toBe(5);
  });

  it('rejects a nonsense device count', async () => {
    await expect(startSimulator({ hub: 'h:1', caPem: '', devices: 0, stateDir })).rejects.toThrow('devices must be a whole number >= 1, got 0');
  });
});
