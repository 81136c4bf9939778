import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildArtifact } from '../../artifact/testing/fixtures';
import { pageErrors, startConsoleUnderTest, WAIT, type ConsoleUnderTest } from './harness';

// Uploading artifacts from the browser to the console's real embedded hub:
// a file chosen with "Choose file…" and a file dropped on the drop zone,
// streamed in chunks over the WebSocket bridge with live progress, verified
// by the hub, then listed with their signature status. The embedded fleet's
// demo signing key is trusted; an unsigned artifact is stored with a
// warning; a tampered one is refused with the reason and stored nowhere.

let c: ConsoleUnderTest;

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 1 });
});

afterAll(async () => {
  await c?.close();
});

const demoKey = () => readFileSync(join(c.dir, 'console', 'demo-signing', 'demo-signing.key'), 'utf8');

function fleetos(version: string, opts: { payloadBytes?: number; signed?: boolean } = {}): Promise<Buffer> {
  return buildArtifact({
    name: 'fleetos',
    version,
    deviceTypes: ['sim-device'],
    compression: 'gzip',
    signingKey: opts.signed === false ? undefined : demoKey(),
    payloads: [{ type: 'rootfs-image', name: 'rootfs.img', data: randomBytes(opts.payloadBytes ?? 4096) }],
  });
}

/** Drops a file on the drop zone the way a desktop drag does: a real DataTransfer holding a File. */
async function dropFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  // A string expression: this file is type-checked without the DOM library.
  const dataTransfer = await page.evaluateHandle(`(() => {
    const transfer = new DataTransfer();
    const bytes = Uint8Array.from(atob(${JSON.stringify(bytes.toString('base64'))}), (ch) => ch.charCodeAt(0));
    transfer.items.add(new File([bytes], ${JSON.stringify(name)}));
    return transfer;
  })()`);
  const zone = page.getByTestId('drop-zone');
  await zone.dispatchEvent('dragenter', { dataTransfer });
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
}

const uploadItem = (page: Page, fileName: string) => page.getByRole('group', { name: `Upload of ${fileName}` });
const artifactTable = (page: Page) => page.getByRole('table', { name: 'Artifacts' });

it('uploads a chosen file with progress, and lists it as trusted', async () => {
  const { page } = c;
  await expect.poll(async () => (await c.app.api.connection.state()).phase, WAIT).toBe('online');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Artifacts' }).click();
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'No artifacts' }).count(), WAIT).toBe(1);

  // ~3 MiB of random payload: a dozen chunks over the bridge.
  const bytes = await fleetos('1.1.0', { payloadBytes: 3 * 1024 * 1024 });
  const file = join(c.dir, 'fleetos-1.1.0.fleet');
  writeFileSync(file, bytes);
  await page.getByLabel('Artifact file').setInputFiles(file);

  const item = uploadItem(page, 'fleetos-1.1.0.fleet');
  await expect.poll(() => item.getByRole('status').innerText(), WAIT).toMatch(/^Uploaded: fleetos 1\.1\.0 for sim-device\. trusted Signed by a key the hub trusts/);
  const bar = item.getByRole('progressbar', { name: 'Upload of fleetos-1.1.0.fleet' });
  expect(await bar.getAttribute('aria-valuenow')).toBe('100');
  expect(await item.getByTestId('upload-figures').innerText()).toMatch(/^3\.0 MiB of 3\.0 MiB · 100% · [\d.]+ (KiB|MiB|GiB)\/s$/);

  // The list re-reads the hub by itself.
  await expect.poll(() => artifactTable(page).getByRole('row').count(), WAIT).toBe(2);
  const cells = await artifactTable(page).getByRole('row').nth(1).getByRole('cell').allInnerTexts();
  expect(cells.slice(0, 4)).toEqual(['fleetos', '1.1.0', 'sim-device', 'trusted']);
  const [stored] = await c.app.api.artifacts.list();
  expect(stored).toMatchObject({ name: 'fleetos', version: '1.1.0', signatureStatus: 'trusted', size: bytes.length });

  await item.getByRole('button', { name: 'Dismiss fleetos-1.1.0.fleet' }).click();
  await expect.poll(() => item.count(), WAIT).toBe(0);
});

it('uploads a dropped file; an unsigned artifact is stored with a warning that devices will refuse it', async () => {
  const { page } = c;
  await dropFile(page, 'unsigned-1.2.0.fleet', await fleetos('1.2.0', { signed: false }));
  const item = uploadItem(page, 'unsigned-1.2.0.fleet');
  await expect.poll(() => item.getByRole('status').innerText(), WAIT).toMatch(/^Uploaded: fleetos 1\.2\.0 .*unsigned Not signed: devices will refuse to install it/);
  await expect.poll(() => artifactTable(page).getByRole('row').count(), WAIT).toBe(3);
  expect(await artifactTable(page).getByRole('row').nth(1).getByRole('cell').nth(3).innerText()).toBe('unsigned');
});

it('refuses a tampered artifact with the reason, and stores nothing', async () => {
  const { page } = c;
  const bytes = await fleetos('1.3.0', { payloadBytes: 300_000 });
  bytes[bytes.length - 5000] ^= 0x40; // one bit inside the payload
  await dropFile(page, 'tampered.fleet', bytes);
  const alert = uploadItem(page, 'tampered.fleet').getByRole('alert');
  await expect.poll(() => alert.innerText(), WAIT).toMatch(/^Upload refused\. the hub refused tampered\.fleet: artifact tampered\.fleet refused \(payload-hash-mismatch\)/);
  expect(await alert.innerText()).toMatch(/A payload does not match its signed hash: the file was altered or damaged/);
  expect((await c.app.api.artifacts.list()).map((a) => a.version)).toEqual(['1.2.0', '1.1.0']);
  expect(pageErrors(c)).toEqual([]);
});

it('cancels an upload in progress; the hub keeps nothing', async () => {
  const { page } = c;
  // Big enough that the upload is still running when Cancel is clicked.
  const file = join(c.dir, 'huge.fleet');
  writeFileSync(file, randomBytes(96 * 1024 * 1024));
  await page.getByLabel('Artifact file').setInputFiles(file);
  const item = uploadItem(page, 'huge.fleet');
  const bar = item.getByRole('progressbar');
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
  await item.getByRole('button', { name: 'Cancel' }).click();
  await expect.poll(() => item.getByRole('status').innerText(), WAIT).toBe('Upload cancelled; the hub kept nothing.');
  expect(Number(await bar.getAttribute('aria-valuenow'))).toBeLessThan(100);
  const hubTmp = join(c.dir, 'console', 'embedded-hub', 'artifacts', 'tmp');
  await expect.poll(() => readdirSync(hubTmp).length, WAIT).toBe(0);
  expect((await c.app.api.artifacts.list()).map((a) => a.version)).toEqual(['1.2.0', '1.1.0']);
  expect(pageErrors(c)).toEqual([]);
});
