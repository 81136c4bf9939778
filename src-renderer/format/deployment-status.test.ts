import { describe, expect, it } from 'vitest';
import { deviceProgress, isFinalStatus, statusText, statusTone } from './deployment-status';

describe('deployment statuses', () => {
  it('knows final statuses and tones', () => {
    expect(isFinalStatus('success')).toBe(true);
    expect(isFinalStatus('rolled-back')).toBe(true);
    expect(isFinalStatus('committing')).toBe(false);
    expect(statusTone('rolled-back')).toBe('bad');
    expect(statusTone('incompatible')).toBe('skipped');
    expect(statusTone('paused-before-install')).toBe('paused');
    expect(statusTone('halted')).toBe('paused');
    expect(statusTone('a-status-from-a-newer-hub')).toBe('neutral');
    expect(statusText('already-installed')).toBe('already installed');
  });
  it('turns a device status into steady progress', () => {
    expect(deviceProgress({ status: 'pending', bytesDone: 0, bytesTotal: 0 })).toBe(0);
    expect(deviceProgress({ status: 'downloading', bytesDone: 50, bytesTotal: 100 })).toBeCloseTo(0.3);
    expect(deviceProgress({ status: 'downloading', bytesDone: 50, bytesTotal: 0 })).toBe(0);
    expect(deviceProgress({ status: 'verifying', bytesDone: 100, bytesTotal: 100 })).toBeGreaterThan(deviceProgress({ status: 'installing', bytesDone: 100, bytesTotal: 100 }));
    expect(deviceProgress({ status: 'failure', bytesDone: 0, bytesTotal: 100 })).toBe(1);
  });
});
