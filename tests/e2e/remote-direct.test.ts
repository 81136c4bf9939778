import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestSshd, type TestSshd } from '../support/sshd';
import { pageErrors, startConsoleUnderTest, WAIT, type ConsoleUnderTest } from './harness';
import { dragOut, dropFile, sha256, sha256File, terminalText, transferItem, typeInTerminal, until } from './remote-support';

// Direct mode in Chromium through the bridge: the same terminal, file and
// tunnel views, but over SSH to a real OpenSSH sshd on 127.0.0.1 (temporary
// config and keys, tests/support/sshd.ts) instead of through the hub. The
// device page says which path it uses.

let c: ConsoleUnderTest;
let sshd: TestSshd;
let web: Server;
let webPort: number;
let deviceId: string;

beforeAll(async () => {
  sshd = await startTestSshd();
  c = await startConsoleUnderTest({ devices: 1 });
  deviceId = await until('the simulated device', async () => (await c.app.api.devices.query({ limit: 1 })).rows[0]?.id);
  await c.app.api.devices.accept([deviceId]);
  web = createServer((req, res) => res.end(`hello over ssh: ${req.url}`));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as AddressInfo).port;
  await c.page.evaluate(`location.hash = '#/devices/${encodeURIComponent(deviceId)}'`);
  await c.page.getByRole('region', { name: 'Remote access' }).waitFor();
}, 120_000);

afterAll(async () => {
  web?.close();
  await c?.close();
  await sshd?.stop();
});

it('switches the device to direct SSH, says so, and runs a shell over it', async () => {
  const { page } = c;
  await page.getByRole('radio', { name: 'Direct (SSH)' }).check();
  await page.getByLabel('SSH host').fill(sshd.host);
  await page.getByLabel('SSH port').fill(String(sshd.port));
  await page.getByLabel('SSH user').fill(sshd.username);
  await page.getByLabel('SSH key file').fill(sshd.clientKeyFile);
  await page.getByRole('button', { name: 'Save SSH settings' }).click();
  await expect.poll(() => page.getByTestId('remote-via').innerText(), WAIT).toBe(`Using direct SSH to ${sshd.username}@127.0.0.1:${sshd.port} (not through the hub, not recorded).`);

  await page.getByRole('button', { name: 'New terminal' }).click();
  await expect.poll(() => page.getByTestId('session-state').innerText(), WAIT).toBe('connected');
  expect(await page.getByTestId('session-via').innerText()).toBe('direct SSH');
  const marker = randomBytes(3).toString('hex');
  await typeInTerminal(page, `echo hello-$RANDOM-${marker}\n`);
  await expect.poll(() => terminalText(page), WAIT).toMatch(new RegExp(`hello-\\d+-${marker}`));
  await page.getByRole('button', { name: 'End session' }).click();
  await expect.poll(() => page.getByTestId('session-state').innerText(), WAIT).toMatch(/^ended/);
  // Nothing went through the hub.
  expect(await c.app.api.remote.sessions({ deviceId })).toEqual([]);
}, 120_000);

it('uploads a dropped file over SFTP with the same sha256 and downloads it back', async () => {
  const { page } = c;
  const folder = join(c.dir, 'device-side');
  mkdirSync(folder);
  await page.getByRole('tab', { name: 'Files' }).click();
  await page.getByLabel('Device folder').fill(folder);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await expect.poll(() => page.getByText(`Drop files here to upload them to ${folder}`).count(), WAIT).toBe(1);

  const bytes = randomBytes(1_500_000);
  await dropFile(page, page.getByTestId('file-drop-zone'), 'over-ssh.bin', bytes);
  const up = transferItem(page, 'Upload', 'over-ssh.bin');
  await expect.poll(() => up.getByRole('status').innerText(), WAIT).toMatch(new RegExp(`^Done — sha256 ${sha256(bytes)} verified`));
  expect(sha256File(join(folder, 'over-ssh.bin'))).toBe(sha256(bytes));
  expect(readdirSync(folder)).toEqual(['over-ssh.bin']);

  const downloads = join(c.dir, 'downloads');
  mkdirSync(downloads);
  await page.getByLabel('Download folder').fill(downloads);
  await page.locator('[data-testid="file-row"][data-name="over-ssh.bin"]').getByRole('button').click();
  const down = transferItem(page, 'Download', 'over-ssh.bin');
  await expect.poll(() => down.getByRole('status').innerText(), WAIT).toMatch(new RegExp(`^Done — sha256 ${sha256(bytes)} verified`));
  expect(readFileSync(join(downloads, 'over-ssh.bin')).equals(bytes)).toBe(true);

  // Dragged out to the desktop over SFTP too: the link the drag carries serves the verified file.
  const row = page.locator('[data-testid="file-row"][data-name="over-ssh.bin"]');
  const dragged = await dragOut(row);
  expect(dragged.name).toBe('over-ssh.bin');
  expect(new URL(dragged.url).searchParams.get('via')).toBe('direct');
  const atDrop = await fetch(dragged.url);
  expect(atDrop.status).toBe(200);
  expect(Buffer.from(await atDrop.arrayBuffer()).equals(bytes)).toBe(true);
  expect(readdirSync(downloads)).toEqual(['over-ssh.bin']);
}, 120_000);

it('opens a tunnel over SSH and fetches a page through it', async () => {
  const { page } = c;
  await page.getByRole('tab', { name: 'Tunnels' }).click();
  await page.getByLabel('Device port').fill(String(webPort));
  await page.getByRole('button', { name: 'Open tunnel' }).click();
  const row = page.getByTestId('tunnel-row');
  await row.waitFor();
  expect(await row.getByRole('cell').nth(2).innerText()).toBe('SSH');
  const localPort = Number(await row.getAttribute('data-local-port'));
  expect(await fetch(`http://127.0.0.1:${localPort}/direct`).then((r) => r.text())).toBe('hello over ssh: /direct');
  await row.getByRole('button', { name: 'Close' }).click();
  await expect.poll(() => page.getByTestId('tunnel-row').count(), WAIT).toBe(0);
  await expect(fetch(`http://127.0.0.1:${localPort}/`)).rejects.toThrow();
}, 120_000);

it('refuses a device whose host key changed, shows both fingerprints, and connects after the operator trusts the new key', async () => {
  const { page } = c;
  const before = sshd.hostKeyFingerprint();
  await sshd.replaceHostKey();
  // Saving the settings again drops the pooled connection: the next session dials anew.
  await c.app.api.remote.setDirect(deviceId, { host: sshd.host, port: sshd.port, username: sshd.username, auth: { kind: 'key', keyFile: sshd.clientKeyFile } });
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByRole('button', { name: 'New terminal' }).click();
  const pane = page.locator('.terminal-pane:not([hidden])');
  await expect.poll(() => pane.getByTestId('session-state').innerText(), WAIT).toMatch(/^ended: The device’s SSH host key changed\./);
  const alert = page.getByRole('alert', { name: 'Host key changed' });
  expect(await alert.getByTestId('known-key').innerText()).toBe(`ssh-ed25519 ${before}`);
  expect(await alert.getByTestId('presented-key').innerText()).toBe(`ssh-ed25519 ${sshd.hostKeyFingerprint()}`);
  await alert.getByRole('button', { name: 'Trust the new key' }).click();
  await expect.poll(() => alert.count(), WAIT).toBe(0);
  await pane.getByRole('button', { name: 'Reconnect' }).click();
  await expect.poll(() => pane.getByTestId('session-state').innerText(), WAIT).toBe('connected');
  expect(pageErrors(c)).toEqual([]);
}, 120_000);
