import { describe, expect, it } from 'vitest';
import { checkCompatibility } from './check-compatibility';
import { groupVersionKey, type Manifest } from './manifest';
import { applyProvides } from './provides';

const manifest: Manifest = {
  name: 'os-2.1',
  version: '2.1.0',
  group: 'os',
  deviceTypes: ['pi4', 'pi5'],
  provides: { 'rootfs-image.checksum': 'abc' },
  depends: { 'bootloader.version': '7' },
  clearsProvides: ['rootfs-image.*'],
  payloads: [],
  hooks: {},
};
const device = (provides: Record<string, string>, deviceType = 'pi4') => ({ deviceType, provides: { 'bootloader.version': '7', ...provides } });

describe('checkCompatibility', () => {
  it('accepts a matching device and reports the installed version', () => {
    expect(checkCompatibility(manifest, device({ [groupVersionKey('os')]: '2.0.9' }))).toEqual({ installedVersion: '2.0.9', sameVersion: false });
    expect(checkCompatibility(manifest, device({}))).toEqual({ installedVersion: null, sameVersion: false });
    expect(checkCompatibility(manifest, device({ [groupVersionKey('os')]: '2.1' })).sameVersion).toBe(true);
  });

  it('refuses another device type', () => {
    expect(() => checkCompatibility(manifest, device({}, 'x86'))).toThrow(expect.objectContaining({ code: 'incompatible', message: expect.stringContaining('pi4, pi5, not x86') }));
  });

  it('refuses unmet depends, naming the key', () => {
    expect(() => checkCompatibility(manifest, { deviceType: 'pi4', provides: {} })).toThrow(expect.objectContaining({ code: 'incompatible', message: expect.stringContaining('no bootloader.version') }));
    expect(() => checkCompatibility(manifest, device({ 'bootloader.version': '6' }))).toThrow(/bootloader.version=6/);
  });

  it('refuses a downgrade within the group unless allowed; other groups do not count', () => {
    const newer = device({ [groupVersionKey('os')]: '2.10.0' });
    expect(() => checkCompatibility(manifest, newer)).toThrow(expect.objectContaining({ code: 'downgrade' }));
    expect(checkCompatibility(manifest, { ...newer, allowDowngrade: true }).installedVersion).toBe('2.10.0');
    expect(checkCompatibility(manifest, device({ [groupVersionKey('app')]: '9.0.0' })).installedVersion).toBeNull();
  });
});

describe('applyProvides', () => {
  it('clears matching keys, then sets the artifact provides and group name/version', () => {
    const next = applyProvides({ 'rootfs-image.checksum': 'old', 'rootfs-image.extra': 'x', 'app.version': '1' }, manifest);
    expect(next).toEqual({ 'rootfs-image.checksum': 'abc', 'app.version': '1', 'artifact.os.name': 'os-2.1', 'artifact.os.version': '2.1.0' });
  });
});
