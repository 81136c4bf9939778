import type { FleetWindowApi } from '../src-main/common/console-api';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a plain browser (the bridge client is used then). */
    fleet?: FleetWindowApi;
  }
}
