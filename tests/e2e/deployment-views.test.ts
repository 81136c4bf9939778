import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildArtifact } from '../../artifact/testing/fixtures';
import { FINAL_DEVICE_STATUSES, type ArtifactRow, type DeviceRow } from '../../src-main/common/console-api';
import { createConsoleClient, unary } from '../../src-main/services/hub-client/hub-connection';
import { uploadThroughApi } from './console-upload';
import { deviceRow, pageErrors, startConsoleUnderTest, waitForDevices, WAIT, type ConsoleUnderTest } from './harness';

// The deployment views against the real embedded hub and simulated devices,
// on what the hub decides by itself: devices selected in the grid get an
// artifact for another device type through "Deploy…"; the hub marks them
// incompatible without contacting them, and the deployment page, the
// deployment list and each device's Updates section show it. Then a
// deployment aborted from its page while a target is still pending: it
// stops at once and no device is left working on it. Last, devices put in a
// static group from the grid, and a deployment to that group.

let c: ConsoleUnderTest;
let targets: DeviceRow[];

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 4 });
});

afterAll(async () => {
  await c?.close();
});

const demoKey = () => readFileSync(join(c.dir, 'console', 'demo-signing', 'demo-signing.key'), 'utf8');

async function upload(version: string, deviceTypes: string[]): Promise<ArtifactRow> {
  const bytes = await buildArtifact({
    name: 'fleetos',
    version,
    deviceTypes,
    compression: 'gzip',
    signingKey: demoKey(),
    payloads: [{ type: 'rootfs-image', name: 'rootfs.img', data: randomBytes(4096) }],
  });
  return uploadThroughApi(c.app.api, bytes, `fleetos-${version}.fleet`);
}

async function deployFromGrid(page: Page, ids: string[], artifact: ArtifactRow): Promise<string> {
  await page.evaluate("location.hash = '#/devices'");
  for (const id of ids) {
    await deviceRow(page, id).waitFor();
    await page.getByRole('checkbox', { name: `Select ${id}` }).check();
  }
  await page.getByRole('toolbar', { name: 'Device actions' }).getByRole('button', { name: 'Deploy…' }).click();
  const dialog = page.getByRole('dialog', { name: `Deploy to ${ids.length} devices` });
  await dialog.getByRole('radio', { name: new RegExp(`^${artifact.name} ${artifact.version.replace(/\./g, '\\.')} `) }).check();
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click();
  await expect.poll(() => new URL(page.url()).hash, WAIT).toMatch(/^#\/deployments\/[0-9a-f-]{36}$/);
  return decodeURIComponent(new URL(page.url()).hash.slice('#/deployments/'.length));
}

it('deploys to devices selected in the grid; the hub marks another device type incompatible, and every view shows it', async () => {
  const { page, app } = c;
  const devices = await waitForDevices(app, 4);
  targets = devices.slice(0, 3);
  await app.api.devices.accept(targets.map((d) => d.id));
  await expect.poll(async () => (await app.api.devices.query({ status: 'accepted', limit: 0 })).total, WAIT).toBe(3);
  const artifact = await upload('9.0.0', ['another-board']);

  const id = await deployFromGrid(page, targets.map((d) => d.id), artifact);
  await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText(), WAIT).toBe('fleetos 9.0.0');
  const devicesTable = page.getByRole('table', { name: 'Devices in this deployment' });
  await expect.poll(() => devicesTable.getByTestId('deployment-device').count(), WAIT).toBe(3);
  await expect.poll(() => page.getByTestId('count-incompatible').innerText(), WAIT).toBe('incompatible: 3');
  expect(await devicesTable.getByTestId('deployment-device').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')))).toEqual(['incompatible', 'incompatible', 'incompatible']);
  const first = devicesTable.getByTestId('deployment-device').first();
  expect(await first.getByRole('cell').nth(3).innerText()).toMatch(/device type "sim-device" is not one of the artifact's device types \(another-board\)/);
  expect(await first.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
  await expect.poll(() => page.getByRole('progressbar', { name: 'Progress of fleetos 9.0.0' }).getAttribute('aria-valuetext'), WAIT).toBe('3 of 3 devices done');
  await expect.poll(() => page.getByRole('button', { name: 'Abort…' }).isDisabled(), WAIT).toBe(true); // finished: nothing to abort

  // The deployment list.
  await page.getByRole('link', { name: '← Back to deployments' }).click();
  const row = page.locator(`[data-testid="deployment-row"][data-deployment-id="${id}"]`);
  await expect.poll(() => row.getByRole('cell').nth(2).innerText(), WAIT).toBe('finished');
  expect(await row.getByRole('cell').nth(3).innerText()).toContain('3 of 3 devices done · 3 incompatible');

  // A target's Updates section, with its (empty) log.
  await page.evaluate(`location.hash = ${JSON.stringify(`#/devices/${encodeURIComponent(targets[1].id)}`)}`);
  const history = page.getByRole('table', { name: 'Update history' });
  await expect.poll(() => history.getByTestId('update-row').count(), WAIT).toBe(1);
  const update = history.getByTestId('update-row');
  expect(await update.getAttribute('data-deployment-id')).toBe(id);
  expect((await update.getByRole('cell').allInnerTexts()).slice(0, 3)).toEqual(['fleetos 9.0.0', 'fleetos 9.0.0', 'incompatible']);
  const logButton = update.getByRole('button', { name: 'Log of fleetos 9.0.0' });
  await logButton.click();
  expect(await logButton.getAttribute('aria-expanded')).toBe('true');
  await expect.poll(() => page.getByRole('region', { name: `Log of ${targets[1].id}` }).innerText(), WAIT).toBe('The device has sent no log lines for this deployment.');
  expect(pageErrors(c)).toEqual([]);
});

it('aborts a deployment from its page after confirming; no device is left working on it', async () => {
  const { page, app } = c;
  // A device the hub knows and accepts but that never connects keeps the deployment active.
  const phantom = await preauthorizePhantom();
  await expect.poll(async () => (await app.api.devices.get(phantom))?.status, WAIT).toBe('accepted');
  const artifact = await upload('9.1.0', ['sim-device']);
  const id = await deployFromGrid(page, [phantom, targets[0].id], artifact);
  await expect.poll(() => page.locator(`[data-testid="deployment-device"][data-device-id="${phantom}"]`).getAttribute('data-status'), WAIT).toBe('pending');
  await page.getByRole('button', { name: 'Abort…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Abort deployment' });
  expect(await dialog.innerText()).toContain('roll back to their old version');
  await dialog.getByRole('button', { name: 'Abort deployment' }).click();
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Deployment aborted' }).count(), WAIT).toBe(1);

  // The pending device stops at once; a real one ends aborted after rolling back, or on its own final status.
  await expect.poll(() => page.locator(`[data-testid="deployment-device"][data-device-id="${phantom}"]`).getAttribute('data-status'), WAIT).toBe('aborted');
  await expect.poll(() => page.locator('h1 + [data-status]').getAttribute('data-status'), WAIT).toBe('aborted');
  expect(await page.getByRole('button', { name: 'Abort…' }).isDisabled()).toBe(true);
  const settled = async () => (await app.api.deployments.get(id)).devices.every((d) => isFinal(d.status));
  await expect.poll(settled, { timeout: 90_000, interval: 250 }).toBe(true);
  const detail = await app.api.deployments.get(id);
  expect(detail.deployment).toMatchObject({ status: 'aborted', abortedBy: 'admin' });
  // The page catches up with the hub's final word (a device the hub marked
  // aborted while it was working reports its own final status a little later).
  const pageMatchesHub = async () => {
    const shown = await page.getByTestId('deployment-device').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    const now = await app.api.deployments.get(id);
    return JSON.stringify(shown) === JSON.stringify(now.devices.map((d) => d.status));
  };
  await expect.poll(pageMatchesHub, WAIT).toBe(true);

  // Showing one status alone.
  const statuses = page.getByRole('group', { name: 'Show devices by status' });
  await statuses.getByTestId('count-aborted').click();
  expect(await statuses.getByTestId('count-aborted').getAttribute('aria-pressed')).toBe('true');
  const aborted = (await app.api.deployments.get(id)).devices.filter((d) => d.status === 'aborted').map((d) => d.deviceId);
  await expect.poll(() => page.getByTestId('deployment-device').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id'))), WAIT).toEqual(aborted);
  await statuses.getByRole('button', { name: 'all: 2' }).click();
  await expect.poll(() => page.getByTestId('deployment-device').count(), WAIT).toBe(2);
  expect(pageErrors(c)).toEqual([]);
});

it('groups selected devices and deploys to the group from the Deployments view', async () => {
  const { page, app } = c;
  await page.evaluate("location.hash = '#/devices'");
  for (const d of targets.slice(0, 2)) {
    await deviceRow(page, d.id).waitFor();
    await page.getByRole('checkbox', { name: `Select ${d.id}` }).check();
  }
  await page.getByRole('toolbar', { name: 'Device actions' }).getByRole('button', { name: 'Add to group…' }).click();
  const groupDialog = page.getByRole('dialog', { name: 'Add 2 devices to a group' });
  await groupDialog.getByLabel('Group name').fill('lab');
  await groupDialog.getByRole('button', { name: 'Add to group' }).click();
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Group' }).innerText(), WAIT).toBe('Group “lab” now has 2 devices.');
  expect(await app.api.groups.list()).toEqual([{ name: 'lab', deviceIds: targets.slice(0, 2).map((d) => d.id).sort() }]);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deployments' }).click();
  await page.getByRole('button', { name: 'New deployment…' }).click();
  const dialog = page.getByRole('dialog', { name: 'New deployment' });
  await expect.poll(() => dialog.getByLabel('Target group').inputValue(), WAIT).toBe('lab');
  expect(await dialog.getByRole('option').allInnerTexts()).toEqual(['lab (2 devices)']);
  await dialog.getByRole('radio', { name: /^fleetos 9\.0\.0 / }).check();
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click();
  await expect.poll(() => new URL(page.url()).hash, WAIT).toMatch(/^#\/deployments\/[0-9a-f-]{36}$/);
  await expect.poll(() => page.getByTestId('deployment-device').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id'))), WAIT).toEqual(
    targets.slice(0, 2).map((d) => d.id).sort(),
  );
  expect(pageErrors(c)).toEqual([]);
});

const isFinal = (status: string) => (FINAL_DEVICE_STATUSES as readonly string[]).includes(status);

/** Preauthorizes a sim-device whose key nobody holds, straight on the embedded hub. */
async function preauthorizePhantom(): Promise<string> {
  const hubDir = join(c.dir, 'console', 'embedded-hub');
  const token = readFileSync(join(hubDir, 'admin.token'), 'utf8').trim();
  const { hub } = await c.app.api.connection.state();
  const client = createConsoleClient({ hub, token, caPem: readFileSync(join(hubDir, 'hub.crt'), 'utf8') });
  try {
    const publicKey = randomBytes(32);
    const device = await unary(client, client.preauthorizeDevice, { publicKey, identity: { device_type: 'sim-device', serial: 'PHANTOM' } }, token);
    return device.id;
  } finally {
    client.close();
  }
}
