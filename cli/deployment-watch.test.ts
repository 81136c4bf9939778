import { describe, expect, it } from 'vitest';
import type { DeploymentDetail } from '../proto/gen/fleet/v1/console';
import { changeLines, liveFrame, watchDeployment } from './deployment-watch';
import { progressBar } from './format';
import { deployment, device } from './testing/deployment-fixtures';

const NOW = Date.parse('2026-11-27T09:00:00Z');

function detail(status: string, devices: ReturnType<typeof device>[]): DeploymentDetail {
  const counts: Record<string, number> = {};
  for (const d of devices) counts[d.status] = (counts[d.status] ?? 0) + 1;
  return { deployment: deployment({ status, counts, total: devices.length }), devices };
}

describe('progressBar', () => {
  it('fills in proportion and clamps', () => {
    expect(progressBar(0.5, 4)).toBe('[██░░]');
    expect(progressBar(2, 3)).toBe('[███]');
    expect(progressBar(-1, 2)).toBe('[░░]');
  });
});

describe('changeLines', () => {
  it('prints a device only when its status changed', () => {
    const seen = new Map<string, string>();
    const first = changeLines(detail('active', [device('a', 'downloading'), device('b', 'pending')]), seen, NOW);
    expect(first).toEqual(['2026-11-27T09:00:00.000Z  b  pending\n', '2026-11-27T09:00:00.000Z  a  downloading\n']);
    expect(changeLines(detail('active', [device('a', 'downloading', { bytesDone: 9 }), device('b', 'pending')]), seen, NOW)).toEqual([]);
    expect(changeLines(detail('active', [device('a', 'rolled-back', { reason: 'health check failed' }), device('b', 'pending')]), seen, NOW)).toEqual([
      '2026-11-27T09:00:00.000Z  a  rolled-back: health check failed\n',
    ]);
  });
});

describe('liveFrame', () => {
  it('puts working devices first, cuts lines to the width and summarises what does not fit', () => {
    const devices = [device('done-1', 'success'), device('dl', 'downloading', { bytesDone: 1, bytesTotal: 4 }), device('p', 'pending'), device('done-2', 'failure')];
    const frame = liveFrame(detail('active', devices), 200, 4, false);
    expect(frame[0]).toBe('deployment os 2.0 (dep-1): active');
    expect(frame[1]).toBe(`[${'█'.repeat(10)}${'░'.repeat(10)}] 2/4 done: 1 pending, 1 downloading, 1 success, 1 failure`);
    expect(frame.slice(2, 4).map((l) => l.split(' ')[0])).toEqual(['p', 'dl']);
    expect(frame[3]).toContain(`[${'█'.repeat(30 / 4 + 0.5)}${'░'.repeat(22)}]  25% of 4 B`);
    expect(frame[4]).toBe('… and 2 more devices');
    for (const line of liveFrame(detail('active', devices), 30, 10, false)) expect(line.length).toBeLessThanOrEqual(30);
  });

  it('keeps the progress of a 32-digit device id on an 80-column terminal', () => {
    const id = 'f'.repeat(32);
    const frame = liveFrame(detail('active', [device(id, 'downloading', { bytesDone: 512 * 2 ** 20, bytesTotal: 2 ** 30 })]), 80, 20, false);
    expect(frame[2]).toMatch(/\] {2}50% of 1\.0 GiB$/);
    expect(frame[2].length).toBeLessThanOrEqual(80);
  });
});

describe('watchDeployment', () => {
  it('polls until the deployment is no longer active, printing changes and the outcome', async () => {
    const states = [
      detail('active', [device('a', 'pending')]),
      detail('active', [device('a', 'downloading', { bytesDone: 1, bytesTotal: 2 })]),
      detail('active', [device('a', 'downloading', { bytesDone: 2, bytesTotal: 2 })]),
      detail('finished', [device('a', 'success')]),
    ];
    let polls = 0;
    let text = '';
    const last = await watchDeployment(async () => states[Math.min(polls++, states.length - 1)], { write: (t) => (text += t), live: false, columns: 80, rows: 24, useColor: false }, { intervalMs: 0, now: () => NOW });
    expect(polls).toBe(4);
    expect(last.deployment!.status).toBe('finished');
    expect(text.split('\n').filter(Boolean).map((l) => l.slice(26))).toEqual(['a  pending', 'a  downloading', 'a  success', 'deployment dep-1 finished: 1 success']);
  });

  it('redraws in place on a terminal', async () => {
    const states = [detail('active', [device('a', 'installing')]), detail('aborted', [device('a', 'aborted')])];
    let polls = 0;
    let text = '';
    await watchDeployment(async () => states[polls++], { write: (t) => (text += t), live: true, columns: 80, rows: 24, useColor: false }, { intervalMs: 0 });
    // Second frame: cursor up over the 3 lines drawn before, clear, draw.
    expect(text).toContain('\x1b[3A\r\x1b[J');
    expect(text.endsWith('\n')).toBe(true);
  });
});
