import { afterAll, beforeAll, expect, it } from 'vitest';
import { cellText, deviceRows, pageErrors, startConsoleUnderTest, waitForDevices, WAIT, type ConsoleUnderTest } from './harness';

// The device grid as a keyboard and screen-reader user meets it: ARIA grid
// semantics, keyboard focus movement and selection, text filter, status chips
// with live counts, sorting by a column header.

let c: ConsoleUnderTest;

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 5 });
});

afterAll(async () => {
  await c?.close();
});

const activeRow = async () => {
  const id = await c.page.getByRole('grid', { name: 'Devices' }).getAttribute('aria-activedescendant');
  return id ? c.page.locator(`#${id}`) : null;
};
const activeRowIndex = async () => (await activeRow())?.getAttribute('aria-rowindex');
const chip = (label: string) => c.page.getByRole('group', { name: 'Status filter' }).getByRole('button', { name: new RegExp(`^${label} `) });

it('moves focus and selection with the keyboard', async () => {
  const { page, app } = c;
  const devices = await waitForDevices(app, 5);
  await expect.poll(() => deviceRows(page).count(), WAIT).toBe(5);
  const grid = page.getByRole('grid', { name: 'Devices' });
  expect(await grid.getAttribute('aria-rowcount')).toBe('6');
  expect(await page.getByRole('columnheader').count()).toBe(7);
  expect(await page.getByRole('columnheader', { name: 'Name / ID' }).getAttribute('aria-sort')).toBe('ascending');

  await grid.focus();
  expect(await page.evaluate<string | null>("document.activeElement?.getAttribute('role')")).toBe('grid');
  expect(await activeRowIndex()).toBe('2'); // first data row (the header row is 1)
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect.poll(activeRowIndex, WAIT).toBe('4');
  await page.keyboard.press('ArrowUp');
  await expect.poll(activeRowIndex, WAIT).toBe('3');
  await page.keyboard.press('End');
  await expect.poll(activeRowIndex, WAIT).toBe('6');
  await page.keyboard.press('ArrowDown'); // stays on the last row
  await expect.poll(activeRowIndex, WAIT).toBe('6');
  await page.keyboard.press('Home');
  await expect.poll(activeRowIndex, WAIT).toBe('2');
  await page.keyboard.press('PageDown');
  await expect.poll(activeRowIndex, WAIT).toBe('6');
  await page.keyboard.press('PageUp');
  await expect.poll(activeRowIndex, WAIT).toBe('2');

  // Space toggles the active row's selection.
  const first = (await activeRow())!;
  expect(await first.getAttribute('aria-selected')).toBe('false');
  await page.keyboard.press('Space');
  await expect.poll(() => first.getAttribute('aria-selected'), WAIT).toBe('true');
  expect(await page.getByText('1 device selected').count()).toBe(1);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Space');
  await expect.poll(() => page.locator('[role="row"][aria-selected="true"]').count(), WAIT).toBe(2);
  await page.keyboard.press('Space');
  await expect.poll(() => page.locator('[role="row"][aria-selected="true"]').count(), WAIT).toBe(1);

  // Enter opens the active device.
  await page.keyboard.press('Enter');
  await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText(), WAIT).toBe(devices[1].id);
  await page.goBack();
  await expect.poll(() => deviceRows(page).count(), WAIT).toBe(5);
});

it('narrows rows with the text filter and sorts by a column', async () => {
  const { page, app } = c;
  const devices = await waitForDevices(app, 5);
  const filter = page.getByRole('searchbox', { name: 'Filter devices' });
  await filter.fill(devices[3].id);
  await expect.poll(() => deviceRows(page).count(), WAIT).toBe(1);
  expect(await cellText(deviceRows(page).first(), 2)).toBe(devices[3].id);
  await filter.fill('no-device-matches-this');
  await expect.poll(() => page.getByTestId('no-devices').innerText(), WAIT).toBe('No devices match this filter.');
  expect(await deviceRows(page).count()).toBe(0);
  await filter.fill('');
  await expect.poll(() => deviceRows(page).count(), WAIT).toBe(5);

  const idHeader = page.getByRole('columnheader', { name: 'Name / ID' });
  await idHeader.getByRole('button').click();
  await expect.poll(() => idHeader.getAttribute('aria-sort'), WAIT).toBe('descending');
  await expect.poll(() => cellText(deviceRows(page).first(), 2), WAIT).toBe(devices[4].id);
  await idHeader.getByRole('button').click();
  await expect.poll(() => cellText(deviceRows(page).first(), 2), WAIT).toBe(devices[0].id);
});

it('counts devices per status on the chips, live, and filters by status', async () => {
  const { page, app } = c;
  const devices = await waitForDevices(app, 5);
  await expect.poll(() => chip('All').innerText(), WAIT).toBe('All 5');
  expect(await chip('Pending').innerText()).toBe('Pending 5');
  expect(await chip('Accepted').innerText()).toBe('Accepted 0');
  expect(await chip('Rejected').innerText()).toBe('Rejected 0');

  // Changes made elsewhere (here: straight through the API) show up live.
  await app.api.devices.accept([devices[0].id, devices[1].id]);
  await app.api.devices.reject([devices[2].id]);
  await expect.poll(() => chip('Pending').innerText(), WAIT).toBe('Pending 2');
  expect(await chip('Accepted').innerText()).toBe('Accepted 2');
  expect(await chip('Rejected').innerText()).toBe('Rejected 1');
  expect(await chip('All').innerText()).toBe('All 5');

  await chip('Accepted').click();
  expect(await chip('Accepted').getAttribute('aria-pressed')).toBe('true');
  await expect.poll(() => deviceRows(page).count(), WAIT).toBe(2);
  expect(await deviceRows(page).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id')).sort())).toEqual([devices[0].id, devices[1].id].sort());
  await chip('Rejected').click();
  await expect.poll(() => deviceRows(page).count(), WAIT).toBe(1);
  expect(await cellText(deviceRows(page).first(), 2)).toBe(devices[2].id);

  // "Accept all matching" accepts the remaining pending devices after confirming their count.
  await chip('All').click();
  await page.getByRole('button', { name: 'Accept all matching…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Accept all matching devices' });
  await expect.poll(() => dialog.innerText(), WAIT).toContain('Accept 2 pending devices?');
  await dialog.getByRole('button', { name: 'Accept 2 devices' }).click();
  await expect.poll(() => chip('Pending').innerText(), WAIT).toBe('Pending 0');
  expect(await chip('Accepted').innerText()).toBe('Accepted 4');
  expect((await app.api.devices.query({ status: 'pending', limit: 0 })).total).toBe(0);
  expect(pageErrors(c)).toEqual([]);
});
