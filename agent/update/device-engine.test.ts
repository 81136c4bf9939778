import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../artifact';
import type { DeviceAgent } from '../agent';
import { simulateBoot } from '../bootloader/sim-bootloader';
import { parseConfig } from '../config';
import { createDeviceUpdates } from './device-engine';

// A real device's update engine as `fleet-agent run` builds it from the
// config: trusted keys read from their files, the bootloader made from its
// config, inventory with the running slot.

const dir = mkdtempSync(join(tmpdir(), 'device-engine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const noAgent = (): DeviceAgent => {
  throw new Error('not used');
};

describe('createDeviceUpdates', () => {
  it('builds the engine from the config and reports provides and the running slot', async () => {
    writeFileSync(join(dir, 'release.pub'), generateSigningKey().publicKeyPem);
    const config = parseConfig(
      { hub: 'h:1', ca: 'hub.crt', deviceType: 'board', stateDir: 'state', trustedArtifactKeys: ['release.pub'], slots: { a: 'a.img', b: 'b.img' }, bootloader: { kind: 'sim' } },
      join(dir, 'agent.json'),
      {},
    );
    await simulateBoot(join(config.stateDir, 'bootloader'));
    const lines: string[] = [];
    const updates = createDeviceUpdates(config, noAgent, (line) => lines.push(line));
    await updates.engine.start();
    expect(await updates.inventory()).toEqual({ 'rootfs.active': 'a' });
    await updates.engine.stop();
    expect(lines).toEqual([]);
  });

  it('refuses to start with an unreadable trusted key, naming the file', () => {
    const config = parseConfig({ hub: 'h:1', ca: 'hub.crt', deviceType: 'board', trustedArtifactKeys: ['missing.pub'] }, join(dir, 'agent.json'), {});
    expect(() => createDeviceUpdates(config, noAgent, () => {})).toThrow(/cannot read the trusted artifact key .*missing\.pub \(ENOENT\)/);
  });
});
