import { create } from 'zustand';

// How the page reaches the console services: always 'open' under Electron
// (IPC), the WebSocket's state in a browser.
export type LinkState = 'open' | 'connecting' | 'unreachable' | 'no-secret';

interface LinkStore {
  state: LinkState;
  /** true once the link has been open: a later drop is a reconnect, not a bad link */
  wasOpen: boolean;
  set: (state: LinkState) => void;
}

export const useLink = create<LinkStore>((set) => ({
  state: 'connecting',
  wasOpen: false,
  set: (state) => set((s) => ({ state, wasOpen: s.wasOpen || state === 'open' })),
}));
