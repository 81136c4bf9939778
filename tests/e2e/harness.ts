import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { startBridge, type Bridge } from '../../src-main/bridge/bridge-server';
import type { DeviceRow } from '../../src-main/common/console-api';
import { createConsoleApp, type ConsoleApp } from '../../src-main/services/console-app';

// One real console for a test file: the real console services with their
// embedded hub (TLS gRPC, SQLite) and simulated devices, the WebSocket bridge
// serving the built renderer, and Debian's Chromium driving it. Nothing is
// faked; everything lives in a temporary folder removed at the end.

export const STATIC_DIR = fileURLToPath(new URL('../../out/web', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
/** Condition waits: generous for a loaded 2-core machine, but bounded. */
export const WAIT = { timeout: 30_000, interval: 100 };

export interface ConsoleUnderTest {
  dir: string;
  app: ConsoleApp;
  bridge: Bridge;
  context: BrowserContext;
  page: Page;
  /** the console's own log lines, printed when a test fails to help find out why */
  log: string[];
  close(): Promise<void>;
}

export interface ConsoleUnderTestOptions {
  /** simulated devices of the embedded fleet (default 5) */
  devices?: number;
  /** false: no embedded hub; the console resumes whatever `prepare` saved */
  embedded?: boolean;
  /** runs on the empty user data folder before the console starts (seed a cache, save a context) */
  prepare?: (userDataDir: string) => Promise<void> | void;
}

export async function startConsoleUnderTest(opts: ConsoleUnderTestOptions = {}): Promise<ConsoleUnderTest> {
  if (!existsSync(join(STATIC_DIR, 'index.html'))) {
    throw new Error(`the web renderer is not built (${STATIC_DIR}/index.html is missing): run "npm run build:web" before the e2e tests`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: install Debian's "chromium" package (.ci/run does)`);

  const dir = await mkdtemp(join(tmpdir(), 'fleet-e2e-'));
  const log: string[] = [];
  const closers: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const userDataDir = join(dir, 'console');
    await mkdir(userDataDir, { recursive: true });
    await opts.prepare?.(userDataDir);
    const app = await createConsoleApp({
      userDataDir,
      embedded: opts.embedded ?? true,
      embeddedDevices: opts.devices ?? 5,
      log: (line) => log.push(line),
    });
    closers.push(() => app.close());
    const bridge = await startBridge({ api: app.api, subscribe: app.subscribe, staticDir: STATIC_DIR });
    closers.push(() => bridge.close());
    const context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
      timeout: 60_000,
    });
    closers.push(() => context.close());
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (err) => log.push(`page error: ${err.message}`));
    // CSP violations and failed loads show up as console errors.
    page.on('console', (msg) => {
      if (msg.type() === 'error') log.push(`page error: console: ${msg.text()}`);
    });
    await page.goto(bridge.url);
    return { dir, app, bridge, context, page, log, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Waits until the console's cache holds `count` devices; returns them sorted by id. */
/** Errors the page reported (exceptions, CSP violations, failed loads). */
export const pageErrors = (c: ConsoleUnderTest) => c.log.filter((line) => line.startsWith('page error'));

export async function waitForDevices(app: ConsoleApp, count: number): Promise<DeviceRow[]> {
  await expect.poll(async () => (await app.api.devices.query({ limit: 0 })).total, WAIT).toBe(count);
  return (await app.api.devices.query({ sort: 'id', limit: count })).rows;
}

/** The grid's loaded data rows. */
export const deviceRows = (page: Page): Locator => page.getByRole('grid', { name: 'Devices' }).getByTestId('device-row');

/** The grid row of one device. */
export const deviceRow = (page: Page, id: string): Locator => page.locator(`[data-testid="device-row"][data-device-id="${id}"]`);

/** Text of a cell in a device row by its column number (1 = selection, 2 = id, 3 = status, 4 = online, ...). */
export const cellText = (row: Locator, column: number) => row.locator(`[role="gridcell"][aria-colindex="${column}"]`).innerText();
