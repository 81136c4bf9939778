import { describe, expect, it } from 'vitest';
import type { DeploymentDetail, RolloutState } from '../proto/gen/fleet/v1/console';
import { deploymentDetails } from './deployment-view';
import { changeLines, liveFrame, phaseChangeLines, watchDeployment } from './deployment-watch';
import { progressBar } from './format';
import { durationText, historyLines, phaseLines, stageCounts, thresholdText } from './rollout-view';
import { deployment, device, FIXTURE_NOW } from './testing/deployment-fixtures';

const NOW = FIXTURE_NOW;

function phase(number: number, status: string, total: number, counts: Record<string, number>, spec = {}) {
  return { number, status, total, counts, startedMs: status === 'started' ? NOW - 60_000 : 0, spec: { percent: 0, count: 0, startMs: 0, manual: false, successPercent: 100, maxFailures: undefined, ...spec } };
}

function rollout(phases: ReturnType<typeof phase>[], over: Partial<RolloutState> = {}): RolloutState {
  return {
    options: { phases: phases.map((p) => p.spec), pauseBefore: ['reboot'], window: { cron: '0 2 * * *', durationMs: 7_200_000, timeZone: 'Europe/Oslo' }, maxFailures: { count: 0, percent: 5 }, retries: 1, dynamicGroup: '', maxDevices: 0 },
    phases,
    windowOpen: false,
    windowEndsMs: 0,
    nextWindowMs: NOW + 3 * 3_600_000 + 30 * 60_000,
    ...over,
  };
}

const PHASES = () => [
  phase(1, 'started', 2, { success: 1, 'paused-before-reboot': 1 }, { percent: 10 }),
  phase(2, 'started', 4, { downloading: 1, 'paused-before-reboot': 1, failure: 1, 'rolled-back': 1 }, { percent: 40, manual: true, maxFailures: { count: 1, percent: 0 } }),
  phase(3, 'waiting', 4, { pending: 4 }, { percent: 100 }),
];

function halted(): DeploymentDetail {
  const d = deployment({ status: 'halted', haltReason: '2 of 4 devices of phase 2 failed, more than its threshold of 1', total: 10, counts: { success: 1, 'paused-before-reboot': 2, downloading: 1, failure: 1, 'rolled-back': 1, pending: 4 }, rollout: rollout(PHASES()) });
  return {
    deployment: d,
    devices: [device('a', 'success', { phase: 1 }), device('b', 'paused-before-reboot', { phase: 2 }), device('c', 'pending', { phase: 3 })],
    history: {
      entries: [
        { atMs: NOW - 120_000, actor: 'admin', action: 'created', details: { total: '10' } },
        { atMs: NOW - 60_000, actor: 'alice', action: 'continued', details: { stage: 'reboot', phases: '1' } },
        { atMs: NOW - 5_000, actor: 'hub', action: 'halted', details: {} },
      ],
    },
  };
}

describe('stage counts', () => {
  it('counts how far devices got: downloaded, paused, installed, committed, failed', () => {
    expect(stageCounts({ pending: 3, downloading: 1, 'paused-before-install': 2, installing: 1, 'paused-before-reboot': 1, 'paused-before-commit': 1, success: 4, failure: 1, 'rolled-back': 2 })).toEqual({
      downloaded: 9,
      paused: 4,
      installed: 6,
      committed: 4,
      failed: 3,
    });
  });
});

describe('phase bars', () => {
  it('draws one line per phase, aligned, with its bar, done count and stages', () => {
    const lines = phaseLines(rollout(PHASES()), 4, progressBar);
    expect(lines).toEqual([
      'phase 1  10%       started  [██░░] 1/2 done  downloaded 2  paused 1  installed 2  committed 1  failed 0',
      'phase 2  40%       started  [██░░] 2/4 done  downloaded 1  paused 1  installed 1  committed 0  failed 2',
      'phase 3  the rest  waiting  [░░░░] 0/4 done  downloaded 0  paused 0  installed 0  committed 0  failed 0',
    ]);
  });
});

describe('deploymentDetails with a rollout', () => {
  it('shows the halt reason, settings, next window, phases, history and each device’s phase', () => {
    const out = deploymentDetails(halted(), false, NOW);
    expect(out).toContain('status        halted\nhalt reason   2 of 4 devices of phase 2 failed, more than its threshold of 1 (fleetctl deployments resume dep-1, or abort dep-1)\n');
    expect(out).toContain('pause before  reboot\n');
    expect(out).toContain('window        "0 2 * * *" for 2h (Europe/Oslo)\n');
    expect(out).toContain('window now    closed; next opens 2026-11-27T12:30:00.000Z (in 3h30m)\n');
    expect(out).toContain('max failures  more than 5% failed\n');
    expect(out).toContain('  phase 2: 40%, starts by hand (fleetctl deployments continue ID --phase 2), halts when more than 1 failed; started 2026-11-27T08:59:00.000Z\n');
    expect(out).toContain('  phase 3: the rest, starts when phase 2 reaches 100% success\n');
    expect(out).toMatch(/\n {2}phase 1 {2}10% {7}started {2}\[█{10}░{10}\] 1\/2 done/);
    expect(out).toContain('History:\n  2026-11-27T08:58:00.000Z (2m ago)  admin  created  total=10\n  2026-11-27T08:59:00.000Z (1m ago)  alice  continued  stage=reboot phases=1\n');
    expect(out).toMatch(/\nDEVICE\s+PHASE\s+STATUS\s+PROGRESS\s+UPDATED\s+REASON\nc\s+3\s+pending\s[^\n]*\nb\s+2\s+paused-before-reboot\s/);
  });
});

describe('watch with phases', () => {
  it('the live frame has the halt reason, the next window and a bar per phase, within the width', () => {
    const frame = liveFrame(halted(), 120, 20, false, NOW);
    expect(frame[0]).toBe('deployment os 2.0 (dep-1): halted: 2 of 4 devices of phase 2 failed, more than its threshold of 1');
    expect(frame[2]).toBe('window closed; next opens 2026-11-27T12:30:00.000Z (in 3h30m)');
    expect(frame.slice(3, 6).map((l) => l.slice(0, 8))).toEqual(['phase 1 ', 'phase 2 ', 'phase 3 ']);
    expect(frame[4]).toContain('[█████░░░░░] 2/4 done  downloaded 1  paused 1  installed 1  committed 0  failed 2');
    for (const line of liveFrame(halted(), 40, 20, false, NOW)) expect(line.length).toBeLessThanOrEqual(40);
    // The phase lines come out of the devices' room: 6 heads, then one device and "… and 2 more devices".
    const small = liveFrame(halted(), 120, 7, false, NOW);
    expect(small).toHaveLength(8);
    expect(small[7]).toBe('… and 2 more devices');
  });

  it('in a log: a line when a phase starts, and the halt with its reason at the end', async () => {
    const waiting = halted();
    waiting.deployment = { ...waiting.deployment!, status: 'active', haltReason: undefined, rollout: rollout(PHASES()) };
    const seen = new Map<string, string>();
    expect(phaseChangeLines(waiting, seen, NOW).map((l) => l.slice(26))).toEqual(['phase 1  started (2 devices)\n', 'phase 2  started (4 devices)\n', 'phase 3  waiting (4 devices)\n']);
    expect(phaseChangeLines(waiting, seen, NOW)).toEqual([]);
    changeLines(waiting, seen, NOW);

    let text = '';
    await watchDeployment(async () => halted(), { write: (t) => (text += t), live: false, columns: 80, rows: 24, useColor: false }, { intervalMs: 0, now: () => NOW });
    expect(text.trimEnd().split('\n').at(-1)).toBe('2026-11-27T09:00:00.000Z  deployment dep-1 halted (2 of 4 devices of phase 2 failed, more than its threshold of 1): 4 pending, 1 downloading, 2 paused-before-reboot, 1 success, 1 failure, 1 rolled-back');
  });
});

describe('small texts', () => {
  it('thresholds, durations and history lines', () => {
    expect(thresholdText({ count: 3, percent: 5 })).toBe('more than 5% or more than 3 failed');
    expect(thresholdText({ count: 0, percent: 0 })).toBe('none');
    expect(durationText(5_400_000)).toBe('1h30m');
    expect(durationText(86_400_000)).toBe('1d');
    expect(historyLines([{ atMs: NOW, actor: 'hub', action: 'phase-started', details: { phase: '2' } }], NOW)).toEqual(['2026-11-27T09:00:00.000Z (just now)  hub  phase-started  phase=2']);
  });
});
