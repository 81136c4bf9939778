import { ipcMain, webContents, type IpcMainInvokeEvent } from 'electron';
import type { ConsoleApi, ConsoleEvent } from '../common/console-api';
import { dispatchApiCall } from '../common/api-dispatch';

// Electron's half of the generic transport: 'fleet:invoke' calls are routed
// to the console services through the same whitelist as the WebSocket
// bridge; events go to every window. Errors travel as plain messages (not
// Electron's "Error invoking remote method" wrapping) so the UI shows them as is.

export interface IpcGlueOptions {
  api: ConsoleApi;
  subscribe: (listener: (e: ConsoleEvent) => void) => () => void;
  /** true when a frame URL is our own renderer (file:// build or the dev server) */
  isAppUrl: (url: string) => boolean;
}

export function installIpcGlue(opts: IpcGlueOptions): () => void {
  ipcMain.handle('fleet:invoke', async (event: IpcMainInvokeEvent, method: unknown, args: unknown) => {
    const url = event.senderFrame?.url ?? '';
    if (!opts.isAppUrl(url)) return { ok: false, error: `refused: ${url || 'an unknown frame'} is not the Fleet Console` };
    try {
      return { ok: true, result: await dispatchApiCall(opts.api, method as string, args) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  });
  const unsubscribe = opts.subscribe((event) => {
    for (const contents of webContents.getAllWebContents()) {
      if (!contents.isDestroyed() && opts.isAppUrl(contents.getURL())) contents.send('fleet:event', event);
    }
  });
  return () => {
    unsubscribe();
    ipcMain.removeHandler('fleet:invoke');
  };
}
