import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DeviceRow } from '../../src-main/common/console-api';
import { pageErrors, startConsoleUnderTest, WAIT, type ConsoleUnderTest } from './harness';
import { dragOut, dropFile, sha256, sha256File, terminalText, transferItem, typeInTerminal, until } from './remote-support';

// Remote access through the hub, in Chromium through the bridge, against the
// console's real embedded hub and a simulated device that serves remote
// sessions (the demo's config: a shell as this user, files inside the
// device's folder, tunnels to loopback ports). A shell: echo, resize, end,
// and its recording in the hub's session list; a dropped file arrives with
// the same sha256 and comes back by download; a path outside the device's
// folders is refused with a clear message; a tunnel serves a page of an HTTP
// server on the device's side and frees its port when closed.

let c: ConsoleUnderTest;
let device: DeviceRow;
let web: Server;
let webPort: number;
let filesDir: string;

beforeAll(async () => {
  c = await startConsoleUnderTest({ devices: 1 });
  [device] = await until('the simulated device', async () => (await c.app.api.devices.query({ limit: 1 })).rows.length > 0 && (await c.app.api.devices.query({ limit: 1 })).rows).then((rows) => rows as DeviceRow[]);
  await c.app.api.devices.accept([device.id]);
  await until('the device online', async () => (await c.app.api.devices.get(device.id))?.online);
  // The console knows the allowed folder of its own demo devices: DIR/embedded-devices/dev-N/files.
  // (from its inventory, which may arrive just after the device is online).
  const roots = await until('the device inventory', () => c.app.api.remote.roots({ deviceId: device.id, via: 'hub' }).then((r) => (r.length > 0 ? r : null)));
  filesDir = roots![0];
  expect(filesDir).toMatch(/\/embedded-devices\/dev-\d+\/files$/);
  web = createServer((req, res) => res.end(`hello through the tunnel: ${req.url}`));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as AddressInfo).port;
  await c.page.evaluate(`location.hash = '#/devices/${encodeURIComponent(device.id)}'`);
  await c.page.getByRole('region', { name: 'Remote access' }).waitFor();
}, 120_000);

afterAll(async () => {
  if (c && pageErrors(c).length) console.log(c.log.join('\n'));
  web?.close();
  await c?.close();
});

it('opens a shell through the hub: echo, resize, end; the hub lists it with a recording', async () => {
  const { page } = c;
  expect(await page.getByTestId('remote-via').innerText()).toMatch(/^Using the hub relay/);
  await page.getByRole('button', { name: 'New terminal' }).click();
  await expect.poll(() => page.getByTestId('session-state').innerText(), WAIT).toBe('connected');
  expect(await page.getByTestId('session-via').innerText()).toBe('hub relay');

  const marker = randomBytes(3).toString('hex');
  await typeInTerminal(page, `echo hello-$RANDOM-${marker}\n`);
  // The typed line shows "$RANDOM"; only the shell's output has the number.
  await expect.poll(() => terminalText(page), WAIT).toMatch(new RegExp(`hello-\\d+-${marker}`));

  // `stty size` prints "ROWS COLS"; the last such line is the latest answer.
  const sizes = async () => [...(await terminalText(page)).matchAll(/^(\d+) (\d+)$/gm)].map((m) => Number(m[2]));
  await typeInTerminal(page, 'stty size\n');
  await expect.poll(async () => (await sizes()).length, WAIT).toBe(1);
  const [colsBefore] = await sizes();
  await page.setViewportSize({ width: 900, height: 800 });
  await typeInTerminal(page, 'stty size\n');
  await expect.poll(async () => (await sizes()).length, WAIT).toBe(2);
  expect((await sizes())[1]).toBeLessThan(colsBefore);
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.getByRole('button', { name: 'End session' }).click();
  await expect.poll(() => page.getByTestId('session-state').innerText(), WAIT).toMatch(/^ended/);
  await expect.poll(async () => (await c.app.api.remote.sessions({ deviceId: device.id, kind: 'shell' }))[0]?.endedMs ?? 0, WAIT).toBeGreaterThan(0);
  const [shell] = await c.app.api.remote.sessions({ deviceId: device.id, kind: 'shell' });
  expect(shell.recordingBytes).toBeGreaterThan(0);
  expect(await c.app.api.remote.recording(shell.id)).toMatch(new RegExp(`hello-\\d+-${marker}`));

  // Played back in the console.
  await page.getByRole('tab', { name: 'Sessions & recordings' }).click();
  await page.getByRole('button', { name: `Play recording ${shell.id}` }).click();
  await page.getByLabel('Speed').selectOption('8');
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await expect.poll(() => page.getByTestId('player-screen').locator('.xterm-accessibility-tree').innerText(), WAIT).toMatch(new RegExp(`hello-\\d+-${marker}`));
  await page.getByRole('tab', { name: 'Terminal' }).click();
}, 120_000);

it('uploads a dropped file (same sha256 on the device), downloads it back, makes a new folder, and refuses a path outside the roots', async () => {
  const { page } = c;
  await page.getByRole('tab', { name: 'Files' }).click();
  // The device's allowed folder opens by itself.
  await expect.poll(() => page.getByLabel('Device folder').inputValue(), WAIT).toBe(filesDir);

  const bytes = randomBytes(700_000);
  await dropFile(page, page.getByTestId('file-drop-zone'), 'dropped.bin', bytes);
  const up = transferItem(page, 'Upload', 'dropped.bin');
  await expect.poll(() => up.getByRole('status').innerText(), WAIT).toMatch(new RegExp(`^Done — sha256 ${sha256(bytes)} verified`));
  expect(sha256File(join(filesDir, 'dropped.bin'))).toBe(sha256(bytes));
  // Nothing left under a temporary name.
  expect(readdirSync(filesDir).sort()).toEqual(['dropped.bin']);
  await expect.poll(() => page.locator('[data-testid="file-row"][data-name="dropped.bin"]').count(), WAIT).toBe(1);

  // Chosen with the file picker: a bigger one, with progress figures.
  const big = join(c.dir, 'big.bin');
  writeFileSync(big, randomBytes(3 * 1024 * 1024));
  await page.getByLabel('Files to upload').setInputFiles(big);
  const bigItem = transferItem(page, 'Upload', 'big.bin');
  await expect.poll(() => bigItem.getByRole('status').innerText(), WAIT).toMatch(/^Done/);
  expect(await bigItem.getByTestId('transfer-figures').innerText()).toMatch(/^3\.0 MiB of 3\.0 MiB · 100%/);
  expect(sha256File(join(filesDir, 'big.bin'))).toBe(sha256File(big));

  const downloads = join(c.dir, 'downloads');
  mkdirSync(downloads);
  await page.getByLabel('Download folder').fill(downloads);
  await page.locator('[data-testid="file-row"][data-name="dropped.bin"]').getByRole('button').click();
  const down = transferItem(page, 'Download', 'dropped.bin');
  await expect.poll(() => down.getByRole('status').innerText(), WAIT).toMatch(new RegExp(`^Done — sha256 ${sha256(bytes)} verified`));
  expect(readFileSync(join(downloads, 'dropped.bin')).equals(bytes)).toBe(true);
  expect(readdirSync(downloads)).toEqual(['dropped.bin']);

  // Dragged out to the desktop: the row's drag carries Chromium's DownloadURL ("MIME:NAME:URL"),
  // which the browser fetches at the drop — here fetched as it would be. The console answers
  // with the verified download, and the queue shows it.
  const bigRow = page.locator('[data-testid="file-row"][data-name="big.bin"]');
  await expect.poll(() => bigRow.getAttribute('draggable'), WAIT).toBe('true');
  const dragged = await dragOut(bigRow);
  expect([dragged.mime, dragged.name]).toEqual(['application/octet-stream', 'big.bin']);
  // No plain URL in the drag: an editor or a chat window it is dropped on gets nothing to paste.
  expect(dragged.types).not.toContain('text/uri-list');
  expect(dragged.types).not.toContain('text/plain');
  const atDrop = await fetch(dragged.url);
  expect(atDrop.status).toBe(200);
  expect(sha256(Buffer.from(await atDrop.arrayBuffer()))).toBe(sha256File(big));
  const draggedItem = transferItem(page, 'Download', 'big.bin');
  await expect.poll(() => draggedItem.getByRole('status').innerText(), WAIT).toBe(`Done — sha256 ${sha256File(big)} verified on both ends; handed to the desktop where it was dropped.`);
  // The file view is no drop target for its own rows (files from the desktop, it is).
  const accepts = await page.getByTestId('file-drop-zone').evaluate((zone) => {
    // This file is type-checked without the DOM library: the page classes it needs, by hand.
    type Transfer = { setData(type: string, data: string): void; items: { add(file: unknown): void } };
    const page = globalThis as unknown as { DataTransfer: new () => Transfer; DragEvent: new (type: string, init: object) => Event; File: new (parts: string[], name: string) => unknown };
    const over = (fill: (dt: Transfer) => void) => {
      const dataTransfer = new page.DataTransfer();
      fill(dataTransfer);
      const e = new page.DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer });
      zone.dispatchEvent(e);
      return e.defaultPrevented;
    };
    return { ownRow: over((dt) => dt.setData('application/x-fleet-drag-out', '/x')), desktopFile: over((dt) => dt.items.add(new page.File(['x'], 'x.txt'))) };
  });
  expect(accepts).toEqual({ ownRow: false, desktopFile: true });

  // New folder: made in the folder shown, empty, and listed at once.
  const newFolder = page.getByRole('form', { name: 'New folder' });
  await page.getByRole('button', { name: 'New folder' }).click();
  await newFolder.getByLabel('New folder name').fill('made-here');
  await newFolder.getByRole('button', { name: 'Create' }).click();
  await expect.poll(() => page.locator('[data-testid="file-row"][data-name="made-here"]').count(), WAIT).toBe(1);
  expect(readdirSync(join(filesDir, 'made-here'))).toEqual([]);
  // A name that climbs out: the device refuses, the view says so, nothing is made.
  await page.getByRole('button', { name: 'New folder' }).click();
  await newFolder.getByLabel('New folder name').fill('../escape-folder');
  await newFolder.getByRole('button', { name: 'Create' }).click();
  const refused = newFolder.getByRole('alert');
  await expect.poll(() => refused.innerText(), WAIT).toMatch(/^Refused: the path is outside the folders this device allows\./);
  expect(await refused.getAttribute('data-code')).toBe('outside-roots');
  expect(existsSync(join(filesDir, '..', 'escape-folder'))).toBe(false);
  await newFolder.getByRole('button', { name: 'Cancel' }).click();

  // Outside the device's roots: refused, and said so.
  await page.getByLabel('Device folder').fill('/etc');
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  const alert = page.getByRole('region', { name: 'Files' }).getByRole('alert');
  await expect.poll(() => alert.innerText(), WAIT).toMatch(/^Refused: the path is outside the folders this device allows\./);
  expect(await alert.getAttribute('data-code')).toBe('outside-roots');
  // An upload whose name climbs out is refused too, with nothing written.
  await expect(c.app.api.remote.uploadBegin({ target: { deviceId: device.id, via: 'hub' }, path: `${filesDir}/../escape.bin`, size: 3 })).rejects.toThrow(/^outside-roots: /);
  expect(existsSync(join(filesDir, '..', 'escape.bin'))).toBe(false);
}, 120_000);

it('opens a tunnel to an HTTP server on the device side, fetches a page through it, and frees the port when closed', async () => {
  const { page } = c;
  await page.getByRole('tab', { name: 'Tunnels' }).click();
  await page.getByLabel('Device port').fill(String(webPort));
  await page.getByRole('button', { name: 'Open tunnel' }).click();
  const row = page.getByTestId('tunnel-row');
  await row.waitFor();
  const localPort = Number(await row.getAttribute('data-local-port'));
  expect(localPort).toBeGreaterThan(0);
  expect(await row.getByRole('link', { name: 'Open in browser' }).getAttribute('href')).toBe(`http://127.0.0.1:${localPort}/`);

  const bodies = await Promise.all([1, 2, 3].map((n) => fetch(`http://127.0.0.1:${localPort}/page-${n}`).then((r) => r.text())));
  expect(bodies).toEqual([1, 2, 3].map((n) => `hello through the tunnel: /page-${n}`));
  await expect.poll(() => row.getByTestId('tunnel-connections').innerText(), WAIT).toMatch(/ 3 total/);

  await row.getByRole('button', { name: 'Close' }).click();
  await expect.poll(() => page.getByTestId('tunnel-row').count(), WAIT).toBe(0);
  await expect(fetch(`http://127.0.0.1:${localPort}/`)).rejects.toThrow();
  expect(pageErrors(c)).toEqual([]);
}, 120_000);
