import { create } from 'zustand';
import type { AdmissionStatus, DeviceSortKey } from '../../src-main/common/console-api';

// What the operator has chosen on the device list: filter, sort, selection.
// Kept in a store so it survives a visit to a device page and back.
export type StatusFilter = AdmissionStatus | 'all';

interface DeviceListStore {
  text: string;
  status: StatusFilter;
  sort: DeviceSortKey;
  descending: boolean;
  selected: ReadonlySet<string>;
  /** index of the grid's active (focused) row */
  active: number;
  scrollTop: number;
  setText: (text: string) => void;
  setStatus: (status: StatusFilter) => void;
  sortBy: (key: DeviceSortKey) => void;
  toggle: (id: string) => void;
  clearSelection: () => void;
  setActive: (index: number) => void;
  setScrollTop: (top: number) => void;
}

export const useDeviceList = create<DeviceListStore>((set) => ({
  text: '',
  status: 'all',
  sort: 'id',
  descending: false,
  selected: new Set(),
  active: 0,
  scrollTop: 0,
  // A new filter or order shows different rows: start again from the top.
  setText: (text) => set({ text, active: 0, scrollTop: 0 }),
  setStatus: (status) => set({ status, active: 0, scrollTop: 0 }),
  sortBy: (key) => set((s) => ({ sort: key, descending: s.sort === key ? !s.descending : false, active: 0, scrollTop: 0 })),
  toggle: (id) =>
    set((s) => {
      const selected = new Set(s.selected);
      if (!selected.delete(id)) selected.add(id);
      return { selected };
    }),
  clearSelection: () => set({ selected: new Set() }),
  setActive: (active) => set({ active }),
  setScrollTop: (scrollTop) => set({ scrollTop }),
}));
