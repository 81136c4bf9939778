import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { createApiClient } from '../src-main/common/api-client';
import type { ApiTransport, ConsoleEvent } from '../src-main/common/console-api';

// The only bridge between the sandboxed renderer and the main process: one
// typed API object, `window.fleet`. Calls go through one IPC channel the main
// process checks (src-main/ipc/ipc-glue.ts); events come back on another.

type Reply = { ok: true; result: unknown } | { ok: false; error: string };

const ipcTransport: ApiTransport = {
  async invoke(method, args) {
    const reply = (await ipcRenderer.invoke('fleet:invoke', method, args)) as Reply;
    if (!reply.ok) throw new Error(reply.error);
    return reply.result;
  },
  onEvent(listener) {
    const handler = (_e: IpcRendererEvent, event: ConsoleEvent) => listener(event);
    ipcRenderer.on('fleet:event', handler);
    return () => {
      ipcRenderer.off('fleet:event', handler);
    };
  },
};

contextBridge.exposeInMainWorld('fleet', createApiClient(ipcTransport));
