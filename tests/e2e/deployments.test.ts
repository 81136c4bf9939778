import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeSimRootfsArtifact } from '../../agent/testing/sim-image';
import type { DeviceRow } from '../../src-main/common/console-api';
import { deviceRow, pageErrors, startConsoleUnderTest, waitForDevices, WAIT, type ConsoleUnderTest } from './harness';

// The console proof, in Chromium against the real embedded hub and
// real simulated devices (real update engine, A/B slot files, in-process
// reboots): an artifact dropped in the browser is uploaded and listed as
// trusted; three devices selected in the grid get it through "Deploy…"; the
// deployment page shows them reach success (only reported after the
// post-reboot commit); the device page shows the new version in the
// inventory and the update in its history, with the device's log. A bad
// release then rolls back by itself and the page says why.

let c: ConsoleUnderTest;
let targets: DeviceRow[];

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 4 });
});

afterAll(async () => {
  await c?.close();
});

/** Long enough for download, install, reboot, health check and commit on a loaded 2-core machine. */
const UPDATE_WAIT = { timeout: 90_000, interval: 200 };
const demoKey = () => readFileSync(join(c.dir, 'console', 'demo-signing', 'demo-signing.key'), 'utf8');

async function dropFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  // A string expression: this file is type-checked without the DOM library.
  const dataTransfer = await page.evaluateHandle(`(() => {
    const transfer = new DataTransfer();
    const bytes = Uint8Array.from(atob(${JSON.stringify(bytes.toString('base64'))}), (ch) => ch.charCodeAt(0));
    transfer.items.add(new File([bytes], ${JSON.stringify(name)}));
    return transfer;
  })()`);
  await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer });
}

async function deploySelected(page: Page, ids: string[], artifactLabel: RegExp): Promise<string> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).click();
  for (const id of ids) {
    await deviceRow(page, id).waitFor();
    await page.getByRole('checkbox', { name: `Select ${id}` }).check();
  }
  await expect.poll(() => page.getByText(`${ids.length} devices selected`).count(), WAIT).toBe(1);
  await page.getByRole('toolbar', { name: 'Device actions' }).getByRole('button', { name: 'Deploy…' }).click();
  const dialog = page.getByRole('dialog', { name: `Deploy to ${ids.length} devices` });
  await dialog.getByRole('radio', { name: artifactLabel }).check();
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click();
  await expect.poll(() => new URL(page.url()).hash, WAIT).toMatch(/^#\/deployments\/[0-9a-f-]{36}$/);
  return new URL(page.url()).hash.slice('#/deployments/'.length);
}

const deviceStatuses = (page: Page) => page.getByTestId('deployment-device').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));

it('uploads a dropped artifact, deploys it to 3 selected devices and shows them reach success with the new version', async () => {
  const { page, app } = c;
  const devices = await waitForDevices(app, 4);
  targets = devices.slice(0, 3);
  await app.api.devices.accept(devices.map((d) => d.id));
  await expect.poll(async () => (await app.api.devices.query({ limit: 4 })).rows.filter((d) => d.online).length, WAIT).toBe(4);

  // Upload in the browser; the hub lists it as trusted (the demo key).
  const { artifact } = await makeSimRootfsArtifact({ version: '2.0.0', size: 512 * 1024, signingKey: demoKey() });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Artifacts' }).click();
  await dropFile(page, 'fleetos-2.0.0.fleet', artifact);
  await expect.poll(() => page.getByRole('group', { name: 'Upload of fleetos-2.0.0.fleet' }).getByRole('status').innerText(), WAIT).toMatch(/^Uploaded: fleetos 2\.0\.0 for sim-device\. trusted/);
  const row = page.getByRole('table', { name: 'Artifacts' }).getByRole('row').filter({ hasText: '2.0.0' });
  await expect.poll(async () => (await row.getByRole('cell').allInnerTexts()).slice(0, 4), WAIT).toEqual(['fleetos', '2.0.0', 'sim-device', 'trusted']);

  // Deploy to three of the four devices from the grid selection.
  const id = await deploySelected(page, targets.map((d) => d.id), /^fleetos 2\.0\.0 /);
  await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText(), WAIT).toBe('fleetos 2.0.0');
  await expect.poll(() => page.getByTestId('deployment-device').count(), WAIT).toBe(3);

  // Live progress: every device ends in success, and the page follows without a reload.
  const seen = new Set<string>();
  await expect
    .poll(async () => {
      const statuses = await deviceStatuses(page);
      statuses.forEach((s) => seen.add(s ?? ''));
      return statuses;
    }, UPDATE_WAIT)
    .toEqual(['success', 'success', 'success']);
  expect([...seen].every((s) => ['pending', 'downloading', 'installing', 'rebooting', 'verifying', 'committing', 'success'].includes(s))).toBe(true);
  await expect.poll(() => page.getByTestId('count-success').innerText(), WAIT).toBe('success: 3');
  await expect.poll(() => page.locator('h1 + [data-status]').getAttribute('data-status'), WAIT).toBe('finished');
  for (const bar of await page.getByRole('table', { name: 'Devices in this deployment' }).getByRole('progressbar').all()) {
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
  }
  const hub = await app.api.deployments.get(id);
  expect(hub.deployment).toMatchObject({ status: 'finished', total: 3, counts: { success: 3 } });
  expect(hub.devices.map((d) => d.deviceId).sort()).toEqual(targets.map((d) => d.id).sort());

  // A device's log, drilled down from the deployment page.
  const target = targets[0];
  await page.getByRole('button', { name: `Log of ${target.id}` }).click();
  const log = page.getByRole('region', { name: `Log of ${target.id}` }).getByTestId('log-lines');
  await expect.poll(() => log.innerText(), WAIT).toMatch(/success/);

  // The device page: new version in the inventory, the update in its history.
  await page.getByRole('link', { name: target.id }).click();
  await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText(), WAIT).toBe(target.id);
  await expect.poll(() => page.getByTestId('inventory-artifact.fleetos.version').innerText(), WAIT).toBe('2.0.0');
  expect(await page.getByTestId('inventory-rootfs.active').innerText()).toBe('b');
  expect(await page.getByTestId('device-software').innerText()).toBe('fleetos 2.0.0 (root filesystem slot b)');
  const history = page.getByRole('table', { name: 'Update history' }).getByTestId('update-row');
  await expect.poll(() => history.count(), WAIT).toBe(1);
  expect(await history.getAttribute('data-deployment-id')).toBe(id);
  expect((await history.getByRole('cell').allInnerTexts()).slice(0, 3)).toEqual(['fleetos 2.0.0', 'fleetos 2.0.0', 'success']);

  // The fourth device was not a target and still runs the factory version.
  expect((await app.api.devices.get(devices[3].id))!.inventory['artifact.fleetos.version']).toBe('1.0.0');
  expect(pageErrors(c)).toEqual([]);
});

it('shows a bad release rolled back by itself, with the reason, on the deployment and device pages', async () => {
  const { page } = c;
  const { artifact } = await makeSimRootfsArtifact({ version: '2.1.0', healthy: false, signingKey: demoKey() });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Artifacts' }).click();
  await dropFile(page, 'fleetos-2.1.0.fleet', artifact);
  await expect.poll(() => page.getByRole('group', { name: 'Upload of fleetos-2.1.0.fleet' }).getByRole('status').innerText(), WAIT).toMatch(/^Uploaded: fleetos 2\.1\.0/);

  const target = targets[1];
  await deploySelected(page, [target.id, targets[2].id], /^fleetos 2\.1\.0 /);
  await expect.poll(() => deviceStatuses(page), UPDATE_WAIT).toEqual(['rolled-back', 'rolled-back']);
  const row = page.locator(`[data-testid="deployment-device"][data-device-id="${target.id}"]`);
  expect(await row.getByRole('cell').nth(3).innerText()).toMatch(/unhealthy/);
  await expect.poll(() => page.getByTestId('count-rolled-back').innerText(), WAIT).toBe('rolled back: 2');

  // Back on the old system, with both updates in its history.
  await row.getByRole('link', { name: target.id }).click();
  await expect.poll(() => page.getByTestId('inventory-artifact.fleetos.version').innerText(), WAIT).toBe('2.0.0');
  const history = page.getByRole('table', { name: 'Update history' }).getByTestId('update-row');
  await expect.poll(() => history.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))), WAIT).toEqual(['rolled-back', 'success']);
  expect(await history.first().getByRole('cell').nth(3).innerText()).toMatch(/unhealthy/);
  expect(pageErrors(c)).toEqual([]);
});
