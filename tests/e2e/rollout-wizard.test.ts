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
// as a target with its live count, next to a new filter of its own.

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
