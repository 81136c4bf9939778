import { afterAll, beforeAll, expect, it } from 'vitest';
import { simInventory } from '../../agent/sim/sim-device';
import { cellText, deviceRow, deviceRows, pageErrors, startConsoleUnderTest, waitForDevices, WAIT, type ConsoleUnderTest } from './harness';

// The main path, in a real browser against a real hub and simulated
// devices: a pending device appears, the operator accepts it in the UI, it
// turns online, and its page shows the inventory the device reported.

let c: ConsoleUnderTest;

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 5 });
});

afterAll(async () => {
  await c?.close();
});

it('an operator admits a pending simulated device and sees it online with its real inventory', async () => {
  const { page, app } = c;
  const devices = await waitForDevices(app, 5);
  expect(devices.every((d) => d.status === 'pending' && !d.online)).toBe(true);

  // All five pending devices are in the grid.
  await expect.poll(() => deviceRows(page).count(), WAIT).toBe(5);
  await expect.poll(() => page.getByRole('grid', { name: 'Devices' }).getAttribute('aria-rowcount'), WAIT).toBe('6'); // header + 5
  const target = devices[2];
  const row = deviceRow(page, target.id);
  expect(await cellText(row, 3)).toBe('pending');
  expect(await cellText(row, 4)).toBe('offline');

  // Select it and accept it.
  await page.getByRole('checkbox', { name: `Select ${target.id}` }).check();
  await expect.poll(() => row.getAttribute('aria-selected'), WAIT).toBe('true');
  await page.getByRole('toolbar', { name: 'Device actions' }).getByRole('button', { name: 'Accept', exact: true }).click();
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Accepted' }).innerText(), WAIT).toBe('Accepted 1 device.');

  // The hub admits it, the device connects, the cache and the grid follow live.
  await expect.poll(() => cellText(row, 3), WAIT).toBe('accepted');
  await expect.poll(() => cellText(row, 4), WAIT).toBe('online');
  expect(await cellText(row, 7)).toBe('online now');
  for (const other of devices.filter((d) => d.id !== target.id)) expect(await cellText(deviceRow(page, other.id), 3)).toBe('pending');

  // Its page shows what the simulated device itself reports.
  await expect.poll(async () => (await app.api.devices.get(target.id))?.inventory.hostname, WAIT).toMatch(/^sim-\d{5}$/);
  const detail = (await app.api.devices.get(target.id))!;
  const reported = simInventory(Number(detail.inventory.hostname.slice(4)), Buffer.from(detail.publicKey, 'hex'));
  expect(detail.inventory).toMatchObject(reported); // the cache holds the device's own report

  await row.getByRole('link', { name: target.id }).click();
  await expect.poll(() => new URL(page.url()).hash, WAIT).toBe(`#/devices/${encodeURIComponent(target.id)}`);
  await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText(), WAIT).toBe(target.id);
  await expect.poll(() => page.getByTestId('inventory-hostname').innerText(), WAIT).toBe(reported.hostname);
  expect(await page.getByTestId('inventory-os.pretty_name').innerText()).toBe(reported['os.pretty_name']);
  expect(await page.getByTestId('inventory-cpu.model').innerText()).toBe(reported['cpu.model']);
  expect(await page.getByTestId('inventory-net.eth0.mac').innerText()).toBe(reported['net.eth0.mac']);
  expect(await page.getByTestId('device-status').innerText()).toBe('accepted');
  expect(await page.getByTestId('device-online').innerText()).toBe('Online');
  expect(await page.getByTestId('public-key').innerText()).toBe(detail.publicKey);
  await expect.poll(() => page.getByRole('button', { name: 'Accept', exact: true }).isDisabled(), WAIT).toBe(true);

  // And back to the list.
  await page.getByRole('link', { name: '← Back to devices' }).click();
  await expect.poll(() => deviceRows(page).count(), WAIT).toBe(5);
  expect(pageErrors(c)).toEqual([]); // no exceptions, no CSP violations
});
