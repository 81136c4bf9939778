import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildArtifact, testKeys } from '../../artifact/testing/fixtures';
import type { UploadArtifactResponse } from '../../proto/gen/fleet/v1/console';
import { bearer, createConsoleClient } from '../../src-main/services/hub-client/hub-connection';
import { pageErrors, startConsoleUnderTest, WAIT, type ConsoleUnderTest } from './harness';

// The Artifacts view against the console's real embedded hub: empty at
// first, then an artifact uploaded over real TLS gRPC (as fleetctl does)
// shows up after Refresh with its name, version, device type, size and
// signature status. The embedded hub trusts no signing key, so a signed
// artifact is "untrusted key".

let c: ConsoleUnderTest;

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 1 });
});

afterAll(async () => {
  await c?.close();
});

async function uploadToEmbeddedHub(bytes: Buffer): Promise<UploadArtifactResponse> {
  const hubDir = join(c.dir, 'console', 'embedded-hub');
  const token = readFileSync(join(hubDir, 'admin.token'), 'utf8').trim();
  const { hub } = await c.app.api.connection.state();
  const client = createConsoleClient({ hub, token, caPem: readFileSync(join(hubDir, 'hub.crt'), 'utf8') });
  try {
    return await new Promise<UploadArtifactResponse>((resolve, reject) => {
      const stream = client.uploadArtifact(bearer(token), { deadline: Date.now() + 20_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
      stream.write({ part: { $case: 'header', header: { size: bytes.length, fileName: 'demo.fleet' } } });
      stream.write({ part: { $case: 'chunk', chunk: bytes } });
      stream.end();
    });
  } finally {
    client.close();
  }
}

it('shows a clear message with no artifacts, then an uploaded artifact after Refresh', async () => {
  const { page } = c;
  await expect.poll(async () => (await c.app.api.connection.state()).phase, WAIT).toBe('online');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Artifacts' }).click();
  await expect.poll(() => new URL(page.url()).hash, WAIT).toBe('#/artifacts');
  await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText(), WAIT).toBe('Artifacts');
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'No artifacts' }).count(), WAIT).toBe(1);
  expect(await page.getByRole('table').count()).toBe(0);

  const bytes = await buildArtifact({
    name: 'demo-os',
    version: '2.4.1',
    deviceTypes: ['raspberrypi4'],
    compression: 'gzip',
    signingKey: testKeys()[1].privateKeyPem,
    payloads: [{ type: 'rootfs-image', name: 'rootfs.ext4', data: Buffer.alloc(3000, 7) }],
  });
  const uploaded = await uploadToEmbeddedHub(bytes);
  expect(uploaded.artifact?.signatureStatus).toBe('untrusted-key');

  await page.getByRole('button', { name: 'Refresh' }).click();
  const table = page.getByRole('table', { name: 'Artifacts' });
  await expect.poll(() => table.getByRole('row').count(), WAIT).toBe(2); // header + 1
  const headers = await table.getByRole('columnheader').allInnerTexts();
  expect(headers).toEqual(['Name', 'Version', 'Device types', 'Signature', 'Size', 'Payload', 'Uploaded']);
  const cells = await table.getByRole('row').nth(1).getByRole('cell').allInnerTexts();
  expect(cells.slice(0, 5)).toEqual(['demo-os', '2.4.1', 'raspberrypi4', 'untrusted key', formatKiB(bytes.length)]);
  expect(cells[5]).toMatch(/rootfs-image/);
  expect(cells[6]).toMatch(/by admin$/);
  expect(await page.getByRole('status').filter({ hasText: 'No artifacts' }).count()).toBe(0);

  // Opening the view again asks the hub again (nothing stale, still one row).
  await page.getByRole('link', { name: 'Devices' }).click();
  await page.getByRole('link', { name: 'Artifacts' }).click();
  await expect.poll(() => table.getByRole('row').count(), WAIT).toBe(2);
  expect(pageErrors(c)).toEqual([]);
});

it('explains that the hub is needed when the console is not connected', async () => {
  const { page } = c;
  await c.app.api.connection.disconnect();
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Could not list artifacts' }).innerText(), WAIT).toMatch(/not connected to a hub/);
  expect(await page.getByRole('table').count()).toBe(0);
});

function formatKiB(size: number): string {
  return size < 1024 ? `${size} B` : `${(size / 1024).toFixed(1)} KiB`;
}
