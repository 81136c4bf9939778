import { afterAll, beforeAll, expect, it } from 'vitest';
import { startConsoleUnderTest, WAIT, type ConsoleUnderTest } from './harness';

// The bridge serves the page to anyone on this machine, but only the page
// opened with the per-run secret gets any data.

let c: ConsoleUnderTest;

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 1 });
});

afterAll(async () => {
  await c?.close();
});

it('shows an error and no data to a page opened without the secret', async () => {
  const page = await c.context.newPage(); // a new tab: no secret kept from the first one
  const origin = new URL(c.bridge.url).origin;
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(`${origin}/`);
  await expect.poll(() => page.getByRole('alert').innerText(), WAIT).toContain('opened without its access secret');
  expect(await page.getByRole('grid').count()).toBe(0);
  expect(sockets).toEqual([]); // it did not even try
  await page.close();
});

it('shows an error and no data to a page with a wrong secret', async () => {
  const page = await c.context.newPage();
  const origin = new URL(c.bridge.url).origin;
  const frames: string[] = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
  await page.goto(`${origin}/#secret=${'A'.repeat(43)}`);
  await expect.poll(() => page.getByRole('alert').innerText(), WAIT).toContain('Cannot reach the console service');
  expect(await page.getByRole('grid').count()).toBe(0);
  expect(frames).toEqual([]); // the bridge refused the WebSocket: not one message came back
  await page.close();
});

it('still serves the page opened with the secret', async () => {
  await expect.poll(() => c.page.getByRole('grid', { name: 'Devices' }).count(), WAIT).toBe(1);
  expect(await c.page.getByRole('alert').count()).toBe(0);
});
