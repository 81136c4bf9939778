import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, session, shell } from 'electron';
import { createConsoleApp, type ConsoleApp } from './services/console-app';
import { installIpcGlue } from './ipc/ipc-glue';

// The Electron shell: one window over the console services, with Electron's
// security defaults on (isolated, sandboxed, no Node in the page, strict
// CSP, no navigation away, no new windows).

const here = fileURLToPath(new URL('.', import.meta.url));
const devServerUrl = process.env.ELECTRON_RENDERER_URL; // set by `electron-vite dev`
const rendererFile = join(here, '../renderer/index.html');
const appUrlPrefix = devServerUrl ? new URL(devServerUrl).origin + '/' : pathToFileURL(rendererFile).href;

const isAppUrl = (url: string) => url === appUrlPrefix || url.startsWith(devServerUrl ? appUrlPrefix : `${appUrlPrefix}#`);

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

let consoleApp: ConsoleApp | null = null;

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    title: 'Fleet Console',
    show: false,
    webPreferences: {
      preload: join(here, '../preload/preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  if (devServerUrl) void win.loadURL(devServerUrl);
  else void win.loadFile(rendererFile);
}

async function start(): Promise<void> {
  await app.whenReady();
  // Dev-server pages get the CSP as a header (the packaged page carries it in a meta tag).
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });

  consoleApp = await createConsoleApp({
    userDataDir: app.getPath('userData'),
    embedded: process.env.FLEET_EMBEDDED !== '0',
    embeddedDevices: Number(process.env.FLEET_DEVICES) || undefined,
    embeddedDemoArtifacts: true,
    log: (line) => console.log(line),
  });
  installIpcGlue({ api: consoleApp.api, subscribe: consoleApp.subscribe, isAppUrl });
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}

app.on('window-all-closed', () => app.quit());

let closed = false;
app.on('will-quit', (event) => {
  if (closed || !consoleApp) return;
  event.preventDefault(); // finish closing the hub, devices and cache first
  const closing = consoleApp.close();
  consoleApp = null;
  void closing.finally(() => {
    closed = true;
    app.quit();
  });
});

start().catch((err: Error) => {
  console.error(`Fleet Console failed to start: ${err.message}`);
  app.exit(1);
});
