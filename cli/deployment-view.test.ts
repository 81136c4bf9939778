import { describe, expect, it } from 'vitest';
import { bytesText, countsText, deploymentDetails, deploymentTable, doneCount, historyTable } from './deployment-view';
import { deployment, device, FIXTURE_NOW } from './testing/deployment-fixtures';

const NOW = FIXTURE_NOW;

describe('countsText', () => {
  it('lists statuses in the order work happens, then outcomes, skipping zeros', () => {
    expect(countsText({ failure: 1, success: 3, pending: 2, downloading: 0 })).toBe('2 pending, 3 success, 1 failure');
    expect(countsText({})).toBe('no devices');
    expect(countsText({ 'paused-before-install': 1, success: 1, 'new-status': 2 })).toBe('1 paused-before-install, 1 success, 2 new-status');
  });
});

describe('doneCount', () => {
  it('counts only final statuses', () => {
    expect(doneCount(deployment({ counts: { success: 2, 'rolled-back': 1, installing: 4, pending: 1 } }))).toBe(3);
  });
});

describe('bytesText', () => {
  it('shows the percentage of the reported size, nothing without a size', () => {
    expect(bytesText({ bytesDone: 32 * 2 ** 20, bytesTotal: 128 * 2 ** 20 })).toBe('25% of 128 MiB');
    expect(bytesText({ bytesDone: 0, bytesTotal: 0 })).toBe('');
  });
});

describe('tables', () => {
  it('lists deployments with done/total and counts', () => {
    const out = deploymentTable([deployment({ total: 3, counts: { success: 1, downloading: 2 } })], false, NOW);
    expect(out.split('\n')[0]).toMatch(/^ID\s+NAME\s+ARTIFACT\s+STATUS\s+DONE\s+DEVICES\s+CREATED$/);
    expect(out.split('\n')[1]).toMatch(/^dep-1\s+os 2\.0\s+os 2\.0\s+active\s+1\/3\s+2 downloading, 1 success\s+2m ago$/);
  });

  it('shows one deployment with its devices, unfinished first, and reasons', () => {
    const d = deployment({ total: 2, counts: { success: 1, 'rolled-back': 1 }, status: 'finished', finishedMs: NOW - 1000, force: true });
    const out = deploymentDetails({ deployment: d, devices: [device('z', 'success'), device('b', 'rolled-back', { reason: 'health check failed' }), device('a', 'downloading', { bytesDone: 5, bytesTotal: 10 })] }, false, NOW);
    expect(out).toContain('status    finished\n');
    expect(out).toContain('options   force\n');
    const rows = out.split('\n').filter((l) => /^(a|b|z) /.test(l));
    expect(rows.map((r) => r[0])).toEqual(['a', 'z', 'b']);
    expect(rows[0]).toMatch(/downloading\s+50% of 10 B/);
    expect(rows[2]).toMatch(/rolled-back\s+5s ago\s+health check failed$/);
  });

  it("shows a device's history", () => {
    const out = historyTable([device('x', 'failure', { reason: 'disk full', finishedMs: NOW - 3000 })], false, NOW);
    expect(out.split('\n')[1]).toMatch(/^dep-1\s+os 2\.0\s+failure\s+1m ago\s+3s ago\s+disk full$/);
  });
});
