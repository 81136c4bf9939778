import { create } from 'zustand';
import type { ConnectionState } from '../../src-main/common/console-api';
import { fleet } from '../api';

// The console's connection to its hub, as the services report it. Refreshed
// on start, on every `connection` event and whenever the page's own link to
// the services comes back.
interface ConnectionStore {
  state: ConnectionState | null;
  error: string;
  refresh: () => Promise<void>;
  set: (state: ConnectionState) => void;
}

export const useConnection = create<ConnectionStore>((set) => ({
  state: null,
  error: '',
  refresh: async () => {
    try {
      set({ state: await fleet.connection.state(), error: '' });
    } catch (err) {
      set({ error: (err as Error).message });
    }
  },
  set: (state) => set({ state, error: '' }),
}));
