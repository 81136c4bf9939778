import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { certificateFingerprint, pemToDer } from '../../proto/tls-fingerprint';
import { startConsoleUnderTest, WAIT, type ConsoleUnderTest } from './harness';

// Trust on first use: probing a hub in the connection panel shows the
// fingerprint of the certificate the hub really serves (read here from the
// hub's own certificate file), before anything is trusted.

let c: ConsoleUnderTest;

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 1 });
});

afterAll(async () => {
  await c?.close();
});

it('shows the phase, and the probed hub certificate fingerprint equal to the hub’s', async () => {
  const { page, app, dir } = c;
  const hubCert = await readFile(join(dir, 'console', 'embedded-hub', 'hub.crt'), 'utf8');
  const hubFingerprint = certificateFingerprint(pemToDer(hubCert));
  await expect.poll(async () => (await app.api.connection.state()).phase, WAIT).toBe('online');
  const state = await app.api.connection.state();

  // The header says where we are connected, and that the hub is the embedded demo one.
  const status = page.getByLabel('Hub connection');
  await expect.poll(() => status.getByTestId('connection-phase').innerText(), WAIT).toBe('Online');
  expect(await status.getByText('Embedded demo hub').count()).toBe(1);
  expect(await status.getByText(state.hub).count()).toBe(1);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connection' }).click();
  await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText(), WAIT).toBe('Hub connection');
  expect(await page.getByTestId('trusted-fingerprint').innerText()).toBe(hubFingerprint);

  await page.getByLabel('Hub address').fill(state.hub);
  await page.getByRole('button', { name: 'Check hub' }).click();
  await expect.poll(() => page.getByTestId('probe-fingerprint').innerText(), WAIT).toBe(hubFingerprint);
  expect(await page.getByTestId('probe-subject').innerText()).not.toBe('');
  // The console made the embedded hub itself, so its certificate is already trusted.
  expect(await page.getByText('Already trusted for this hub').count()).toBe(1);
  // Connecting needs the operator token.
  expect(await page.getByRole('button', { name: 'Trust and connect' }).isDisabled()).toBe(true);

  // A hub that is not there: a clear error, no fingerprint.
  await page.getByLabel('Hub address').fill('127.0.0.1:1');
  await page.getByRole('button', { name: 'Check hub' }).click();
  await expect.poll(() => page.getByRole('alert').innerText(), WAIT).toMatch(/127\.0\.0\.1:1/);
  expect(await page.getByTestId('probe-fingerprint').count()).toBe(0);
});
