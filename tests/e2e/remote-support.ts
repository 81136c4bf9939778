import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';

// Helpers of the remote-access e2e tests (terminal text, drops, hashes).

/** Text of the visible terminal as xterm.js mirrors it for screen readers. */
export const terminalText = (page: Page): Promise<string> => page.locator('.terminal-pane:not([hidden]) .xterm-accessibility-tree').innerText();

/** Types into the visible terminal, as keystrokes. */
export async function typeInTerminal(page: Page, text: string): Promise<void> {
  await page.locator('.terminal-pane:not([hidden]) .xterm').click();
  await page.keyboard.type(text);
}

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
export const sha256File = (path: string): string => sha256(readFileSync(path));

/** Drops a file on `zone` the way a desktop drag does: a real DataTransfer holding a File. */
export async function dropFile(page: Page, zone: Locator, name: string, bytes: Buffer): Promise<void> {
  // A string expression: this file is type-checked without the DOM library.
  const dataTransfer = await page.evaluateHandle(`(() => {
    const transfer = new DataTransfer();
    const bytes = Uint8Array.from(atob(${JSON.stringify(bytes.toString('base64'))}), (ch) => ch.charCodeAt(0));
    transfer.items.add(new File([bytes], ${JSON.stringify(name)}));
    return transfer;
  })()`);
  await zone.dispatchEvent('dragenter', { dataTransfer });
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
}

/** The queue entry of one transfer. */
/** Starts dragging a file row as the operator would towards the desktop; Chromium's DownloadURL ("MIME:NAME:URL") and the drag's types. */
export async function dragOut(row: Locator): Promise<{ mime: string; name: string; url: string; types: string[] }> {
  const dragged = await row.evaluate((el) => {
    // This file is type-checked without the DOM library: the two page classes it needs, by hand.
    type Transfer = { getData(type: string): string; types: readonly string[] };
    const page = globalThis as unknown as { DataTransfer: new () => Transfer; DragEvent: new (type: string, init: object) => Event };
    const dataTransfer = new page.DataTransfer();
    el.dispatchEvent(new page.DragEvent('dragstart', { bubbles: true, cancelable: true, dataTransfer }));
    return { downloadUrl: dataTransfer.getData('DownloadURL'), types: [...dataTransfer.types] };
  });
  const [mime, name, ...url] = dragged.downloadUrl.split(':');
  return { mime, name, url: url.join(':'), types: dragged.types };
}

export const transferItem = (page: Page, kind: 'Upload' | 'Download', name: string): Locator => page.getByRole('group', { name: `${kind} of ${name}` });

/** Polls `fn` until it returns something truthy (usable in beforeAll, where expect.poll is not). */
export async function until<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
