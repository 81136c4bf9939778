import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeSimRootfsArtifact } from '../../agent/testing/sim-image';
import { uploadThroughApi } from './console-upload';
import { deviceRow, pageErrors, startConsoleUnderTest, waitForDevices, WAIT, type ConsoleUnderTest } from './harness';

// Issue #4's console proof, in Chromium against the real embedded hub and
// real simulated devices (real update engine with persisted pause points):
// the wizard creates a deployment in two phases (50 %, then the rest,
// started automatically) that pauses before the reboot. The page shows the
// phase-1 device stop at `paused-before-reboot` while phase 2 waits; one
// Continue lets it reboot and commit, which starts phase 2, whose device
// stops at the same pause; a second Continue finishes the deployment. The
// history names who continued. Then the device list's filter builder counts
// matching devices live and saves a dynamic group, which the wizard offers
// as a target with its live count, next to a new filter of its own. Last,
// the wizard takes a phase start time and a per-phase failure threshold
// (the hub stores them), the page's Continue releases through a later pause
// (install → commit in one go), and a group window is set, shown with its
// next opening and removed from the device list's groups panel.

let c: ConsoleUnderTest;

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 2 });
});

afterAll(async () => {
  await c?.close();
});

/** Download, install, reboot, health check and commit on a loaded 2-core machine. */
const UPDATE_WAIT = { timeout: 90_000, interval: 250 };
const demoKey = () => readFileSync(join(c.dir, 'console', 'demo-signing', 'demo-signing.key'), 'utf8');
const sortedStatuses = async (page: Page) => (await page.getByTestId('deployment-device').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status') ?? ''))).sort();
const phaseStatus = (page: Page, n: number) => page.getByTestId(`phase-${n}`).getAttribute('data-phase-status');

it('creates a phased deployment paused before the reboot in the wizard, shows devices stop at the pause, and Continue finishes them', async () => {
  const { page, app } = c;
  const devices = await waitForDevices(app, 2);
  const ids = devices.map((d) => d.id);
  await app.api.devices.accept(ids);
  await expect.poll(async () => (await app.api.devices.query({ limit: 2 })).rows.filter((d) => d.online).length, WAIT).toBe(2);
  const { artifact } = await makeSimRootfsArtifact({ version: '3.0.0', size: 128 * 1024, signingKey: demoKey() });
  await uploadThroughApi(app.api, artifact, 'fleetos-3.0.0.fleet');

  // The wizard, from the grid's selection.
  await page.evaluate("location.hash = '#/devices'");
  for (const id of ids) {
    await deviceRow(page, id).waitFor();
    await page.getByRole('checkbox', { name: `Select ${id}` }).check();
  }
  await page.getByRole('toolbar', { name: 'Device actions' }).getByRole('button', { name: 'Deploy…' }).click();
  const wizard = page.getByRole('dialog', { name: 'Deploy to 2 devices' });
  await wizard.getByRole('radio', { name: /^fleetos 3\.0\.0 / }).check();
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('button', { name: 'Add phase' }).click();
  await wizard.getByLabel('Size of phase 1').fill('50');
  expect(await wizard.getByLabel('Start of phase 2').inputValue()).toBe('auto');
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('checkbox', { name: 'Before reboot' }).check();
  await wizard.getByRole('button', { name: 'Next' }).click();
  const review = wizard.getByRole('definition');
  await expect.poll(() => review.allInnerTexts(), WAIT).toEqual([
    'fleetos 3.0.0',
    '2 selected devices',
    '50% of the devices, starts at once\nthe remaining devices, starts when phase 1 succeeded',
    'before reboot',
    'none: install at once',
    'never halt; no retries',
    'none',
  ]);
  await wizard.getByRole('button', { name: 'Deploy', exact: true }).click();
  await expect.poll(() => new URL(page.url()).hash, WAIT).toMatch(/^#\/deployments\/[0-9a-f-]{36}$/);
  const id = decodeURIComponent(new URL(page.url()).hash.slice('#/deployments/'.length));

  // Phase 1's device downloads, installs and stops before its reboot; phase 2 gets nothing.
  await expect.poll(() => sortedStatuses(page), UPDATE_WAIT).toEqual(['paused-before-reboot', 'pending']);
  expect([await phaseStatus(page, 1), await phaseStatus(page, 2)]).toEqual(['started', 'waiting']);
  await expect.poll(() => page.getByTestId('stage-paused').innerText(), WAIT).toBe('1 of 2');
  expect(await page.getByTestId('stage-installed').innerText()).toBe('1 of 2');
  const hub = await app.api.deployments.get(id);
  expect(hub.deployment.rollout).toMatchObject({ pauseBefore: ['reboot'], phases: [{ number: 1, status: 'started', total: 1 }, { number: 2, status: 'waiting', total: 1 }] });
  const first = hub.devices.find((d) => d.phase === 1)!;
  expect(first.status).toBe('paused-before-reboot');

  // Continue: phase 1 commits, phase 2 starts by itself and stops at the same pause.
  const controls = page.getByRole('toolbar', { name: 'Rollout controls' });
  await controls.getByRole('button', { name: 'Continue', exact: true }).click();
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Continued the deployment.' }).count(), WAIT).toBe(1);
  await expect.poll(() => sortedStatuses(page), UPDATE_WAIT).toEqual(['paused-before-reboot', 'success']);
  expect(await page.locator(`[data-testid="deployment-device"][data-device-id="${first.deviceId}"]`).getAttribute('data-status')).toBe('success');
  await expect.poll(() => phaseStatus(page, 2), WAIT).toBe('started');

  // Continue again: the deployment finishes.
  await controls.getByRole('button', { name: 'Continue', exact: true }).click();
  await expect.poll(() => sortedStatuses(page), UPDATE_WAIT).toEqual(['success', 'success']);
  await expect.poll(() => page.locator('h1 + [data-status]').getAttribute('data-status'), WAIT).toBe('finished');
  expect(await page.getByTestId('stage-committed').innerText()).toBe('2 of 2');
  const actions = await page.getByTestId('history').locator('li').evaluateAll((items) => items.map((li) => li.getAttribute('data-action')));
  expect(actions.filter((a) => a === 'continued')).toHaveLength(2);
  expect(actions[0]).toBe('created');
  expect(await page.getByTestId('history').innerText()).toMatch(/continued by admin/);
  for (const d of devices) expect((await app.api.devices.get(d.id))!.inventory['artifact.fleetos.version']).toBe('3.0.0');
  expect(pageErrors(c)).toEqual([]);
});

it('saves a filter built on the device list as a dynamic group, and the wizard counts the devices of a dynamic target live', async () => {
  const { page, app } = c;
  const ids = (await waitForDevices(app, 2)).map((d) => d.id);
  await page.evaluate("location.hash = '#/devices'");
  await page.getByRole('button', { name: 'Filter builder…' }).click();
  const panel = page.getByRole('region', { name: 'Filter builder' });
  await panel.getByLabel('Attribute of condition 1').fill('device_type');
  await panel.getByLabel('Value of condition 1').fill('sim-device');
  await expect.poll(() => panel.getByTestId('filter-count').innerText(), WAIT).toBe('2 accepted devices match');
  await panel.getByLabel('Operator of condition 1').selectOption('ne');
  await expect.poll(() => panel.getByTestId('filter-count').innerText(), WAIT).toBe('0 accepted devices match');
  await panel.getByLabel('Operator of condition 1').selectOption('eq');
  await panel.getByLabel('Dynamic group name').fill('sims');
  await panel.getByRole('button', { name: 'Save as dynamic group' }).click();
  await expect.poll(() => panel.getByRole('status').filter({ hasText: 'saved' }).innerText(), WAIT).toBe('Dynamic group “sims” saved: 2 devices match now.');
  await expect.poll(() => panel.getByTestId('dynamic-group-row').allInnerTexts(), WAIT).toEqual([expect.stringMatching(/^sims\s+device_type equals “sim-device”\s+2/)]);
  expect((await app.api.groups.getDynamic('sims')).deviceIds).toEqual(ids);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deployments' }).click();
  await page.getByRole('button', { name: 'New deployment…' }).click();
  const wizard = page.getByRole('dialog', { name: 'New deployment' });
  await wizard.getByRole('radio', { name: 'Dynamic group' }).check();
  await expect.poll(() => wizard.getByLabel('Target dynamic group').inputValue(), WAIT).toBe('sims');
  await expect.poll(() => wizard.getByTestId('preview-count').innerText(), WAIT).toBe(`2 devices match now: ${ids.join(', ')}`);
  await wizard.getByRole('radio', { name: 'New filter' }).check();
  await wizard.getByRole('button', { name: 'Add condition' }).click();
  await wizard.getByLabel('Attribute of condition 1').fill('id');
  await wizard.getByLabel('Value of condition 1').fill(ids[1]);
  await expect.poll(() => wizard.getByTestId('preview-count').innerText(), WAIT).toBe(`1 device matches now: ${ids[1]}`);
  expect(await wizard.getByRole('button', { name: 'Deploy', exact: true }).isDisabled()).toBe(true); // the filter has no name yet
  await wizard.getByRole('button', { name: 'Cancel' }).click();
  expect(pageErrors(c)).toEqual([]);
});

it('takes a phase start time and a per-phase threshold in the wizard, continues through a later pause, and sets and shows group windows', async () => {
  const { page, app } = c;
  const ids = (await waitForDevices(app, 2)).map((d) => d.id);
  const { artifact } = await makeSimRootfsArtifact({ version: '3.1.0', size: 64 * 1024, signingKey: demoKey() });
  await uploadThroughApi(app.api, artifact, 'fleetos-3.1.0.fleet');

  await page.evaluate("location.hash = '#/devices'");
  for (const id of ids) {
    await deviceRow(page, id).waitFor();
    await page.getByRole('checkbox', { name: `Select ${id}` }).check();
  }
  await page.getByRole('toolbar', { name: 'Device actions' }).getByRole('button', { name: 'Deploy…' }).click();
  const wizard = page.getByRole('dialog', { name: 'Deploy to 2 devices' });
  await wizard.getByRole('radio', { name: /^fleetos 3\.1\.0 / }).check();
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('button', { name: 'Add phase' }).click();
  await wizard.getByLabel('Size of phase 1').fill('50');
  await wizard.getByLabel('Failures that halt phase 1').fill('1');
  await wizard.getByLabel('Failure unit of phase 1').selectOption('count');
  await wizard.getByLabel('Start of phase 2').selectOption('time');
  // Phase 2 starts tomorrow at 02:00 (this computer's time): it waits through the test.
  const startMs = await page.evaluate(() => {
    const d = new Date();
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1, 2, 0).getTime();
  });
  const at = await page.evaluate((ms) => {
    const d = new Date(ms);
    const two = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T02:00`;
  }, startMs);
  await wizard.getByLabel('Start time of phase 2').fill(at);
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('checkbox', { name: 'Before install' }).check();
  await wizard.getByRole('checkbox', { name: 'Before commit' }).check();
  await wizard.getByRole('button', { name: 'Next' }).click();
  const when = await page.evaluate((ms) => new Date(ms).toLocaleString(), startMs);
  await expect
    .poll(() => wizard.getByRole('definition').nth(2).innerText(), WAIT)
    .toBe(`50% of the devices, starts at once, halts above 1 failed\nthe remaining devices, starts at ${when}`);
  await wizard.getByRole('button', { name: 'Deploy', exact: true }).click();
  await expect.poll(() => new URL(page.url()).hash, WAIT).toMatch(/^#\/deployments\/[0-9a-f-]{36}$/);
  const id = decodeURIComponent(new URL(page.url()).hash.slice('#/deployments/'.length));
  const created = (await app.api.deployments.get(id)).deployment.rollout!;
  expect(created.phases.map((p) => [p.status, p.spec.startMs, p.spec.maxFailures])).toEqual([
    ['started', 0, { count: 1, percent: 0 }],
    ['waiting', startMs, { count: 0, percent: 0 }],
  ]);
  expect(created.pauseBefore).toEqual(['install', 'commit']);

  // Phase 1's device stops before install; one Continue through the pause before commit takes it to success.
  await expect.poll(() => sortedStatuses(page), UPDATE_WAIT).toEqual(['paused-before-install', 'pending']);
  expect(await phaseStatus(page, 2)).toBe('waiting');
  const controls = page.getByRole('toolbar', { name: 'Rollout controls' });
  await controls.getByLabel('Release', { exact: true }).selectOption('commit');
  await controls.getByRole('button', { name: 'Continue', exact: true }).click();
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Continued the deployment through the pause before commit.' }).count(), WAIT).toBe(1);
  await expect.poll(() => sortedStatuses(page), UPDATE_WAIT).toEqual(['pending', 'success']);
  const history = (await app.api.deployments.get(id)).history.filter((e) => e.action === 'continued');
  expect(history.map((e) => e.details)).toEqual([expect.objectContaining({ stage: 'commit', releasedTo: 'commit' })]);
  await app.api.deployments.abort(id);

  // Group windows: set on the dynamic group "sims", listed with its next opening, removed.
  await page.evaluate("location.hash = '#/devices'");
  const builder = page.getByRole('button', { name: 'Filter builder…' });
  if (await builder.count()) await builder.click();
  const windows = page.getByRole('region', { name: 'Group maintenance windows' });
  await expect.poll(() => windows.getByText('No group has a window.').count(), WAIT).toBe(1);
  await windows.getByRole('combobox', { name: /^Group/ }).selectOption('dynamic:sims');
  await windows.getByLabel('Opens at (cron: minute hour day month weekday)').fill('30 3 * * *');
  await windows.getByLabel('Length (hours)').fill('1.5');
  await windows.getByLabel('Time zone (IANA, empty for UTC)').fill('Europe/Oslo');
  await expect.poll(() => windows.getByTestId('group-next-window').innerText(), WAIT).toMatch(/^Next window opens /);
  await windows.getByRole('button', { name: 'Set window' }).click();
  await expect.poll(() => windows.getByRole('status').filter({ hasText: 'set:' }).innerText(), WAIT).toBe('Window of dynamic group “sims” set: “30 3 * * *” (Europe/Oslo), 1.5 h long.');
  const row = windows.locator('[data-testid="group-window-row"][data-group="sims"]');
  await expect.poll(() => row.getByTestId('group-window-next').innerText(), WAIT).toMatch(/\d/);
  expect(await app.api.groups.windows()).toEqual([expect.objectContaining({ group: 'sims', dynamic: true, window: { cron: '30 3 * * *', durationMs: 5_400_000, timeZone: 'Europe/Oslo' }, setBy: 'admin' })]);
  expect((await app.api.groups.listDynamic()).find((g) => g.name === 'sims')!.window).toMatchObject({ cron: '30 3 * * *' });
  await windows.getByRole('button', { name: 'Remove window of sims' }).click();
  await expect.poll(() => windows.getByText('No group has a window.').count(), WAIT).toBe(1);
  expect(await app.api.groups.windows()).toEqual([]);
  expect(pageErrors(c)).toEqual([]);
});
