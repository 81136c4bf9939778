import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadOrCreateHubCertificate } from '../../hub/tls/hub-certificate';
import { prepareDataDir } from '../../hub/data-dir';
import { DeviceCache } from '../../src-main/services/cache/device-cache';
import { fakeDevice } from '../../src-main/services/cache/test-fixtures';
import { ContextStore } from '../../src-main/services/context/context-store';
import { cellText, deviceRows, startConsoleUnderTest, WAIT, type ConsoleUnderTest } from './harness';

// A console restarted with its hub unreachable and 100,000 devices in its
// local cache: the list is marked as offline data, stays virtualized (a few
// dozen rows in the page whatever the fleet size), and asks the services only
// for the rows on screen.

const FLEET = 100_000;
const SYNCED_AT = Date.UTC(2025, 0, 15, 9, 30);
let c: ConsoleUnderTest;
const sentQueries: { offset: number; limit: number }[] = [];

beforeAll(async () => {
  c = await startConsoleUnderTest({
    embedded: false,
    prepare: async (dir) => {
      const cache = new DeviceCache(join(dir, 'cache.db'));
      cache.transaction(() => {
        for (let i = 0; i < FLEET; i++) cache.upsert(fakeDevice(i));
      });
      cache.setMeta({ hubId: 'hub-a', syncedAtMs: SYNCED_AT });
      cache.close();
      // A real certificate for a hub that is not running: the console keeps retrying it.
      const cert = await loadOrCreateHubCertificate(prepareDataDir(join(dir, 'gone-hub')), 'hub-a', () => {});
      new ContextStore(join(dir, 'contexts.json')).save({
        hub: '127.0.0.1:1', token: 'unused', fingerprint: cert.fingerprint, certPem: cert.certPem, hubId: 'hub-a', operator: 'admin', role: 'admin',
      });
    },
  });
  c.page.on('websocket', (ws) =>
    ws.on('framesent', (f) => {
      const msg = JSON.parse(String(f.payload));
      if (msg.method === 'devices.query') sentQueries.push(msg.args[0]);
    }),
  );
  await c.page.reload(); // now with the frame listener in place (the secret is kept for the tab)
}, 180_000);

afterAll(async () => {
  await c?.close();
});

it('shows the cached fleet as offline data', async () => {
  const { page } = c;
  await expect.poll(() => page.getByTestId('offline-banner').innerText(), WAIT).toContain('Offline — showing the fleet as of');
  expect(await page.getByTestId('offline-banner').innerText()).toContain(new Date(SYNCED_AT).getFullYear().toString());
  expect(await page.getByLabel('Hub connection').getByTestId('connection-phase').innerText()).toMatch(/^Offline/);
  const chip = (label: string) => page.getByRole('group', { name: 'Status filter' }).getByRole('button', { name: new RegExp(`^${label} `) });
  await expect.poll(() => chip('All').innerText(), WAIT).toBe('All 100,000');
  expect(await chip('Pending').innerText()).toBe('Pending 33,334');
  expect(await chip('Accepted').innerText()).toBe('Accepted 33,333');
});

it('renders and fetches only the visible window of 100,000 rows', async () => {
  const { page } = c;
  const grid = page.getByRole('grid', { name: 'Devices' });
  await expect.poll(() => grid.getAttribute('aria-rowcount'), WAIT).toBe(String(FLEET + 1));
  await expect.poll(() => cellText(deviceRows(page).first(), 2), WAIT).toBe('dev-000000');
  const rendered = await page.getByRole('row').count();
  expect(rendered).toBeGreaterThan(10);
  expect(rendered).toBeLessThan(80);

  await grid.focus();
  await page.keyboard.press('End');
  await expect.poll(() => page.locator('[data-device-id="dev-099999"]').getAttribute('aria-rowindex'), WAIT).toBe(String(FLEET + 1));
  expect(await page.getByRole('row').count()).toBeLessThan(80);
  await page.keyboard.press('PageUp');
  await expect.poll(async () => Number(await page.locator(`#${await grid.getAttribute('aria-activedescendant')}`).getAttribute('aria-rowindex')), WAIT).toBeLessThan(FLEET + 1);

  // Scrolling to the middle with the mouse wheel fetches that window.
  await grid.evaluate((el, top) => (el.scrollTop = top), 50_000 * 36);
  await expect.poll(() => page.locator('[data-device-id="dev-050000"]').count(), WAIT).toBe(1);

  expect(sentQueries.length).toBeGreaterThan(0);
  expect(sentQueries.every((q) => q.limit <= 100)).toBe(true); // never the whole fleet
  expect(sentQueries.length).toBeLessThan(50);

  const filter = page.getByRole('searchbox', { name: 'Filter devices' });
  await filter.fill('dev-09999');
  await expect.poll(() => grid.getAttribute('aria-rowcount'), WAIT).toBe('11');
  expect(await deviceRows(page).count()).toBe(10);
});
