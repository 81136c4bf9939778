import { useEffect, useRef } from 'react';

/**
 * Calls `load` now and then every `periodMs` while `active` and the page is
 * visible (a hidden tab asks the hub nothing). Calls never overlap: the next
 * one is timed from the end of the last, so a slow hub is not piled on.
 */
export function usePoll(load: () => Promise<unknown>, periodMs: number, active: boolean): void {
  const latest = useRef(load);
  useEffect(() => {
    latest.current = load;
  }, [load]);

  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let running = false;
    const tick = async () => {
      timer = null;
      if (stopped || running || document.visibilityState === 'hidden') return;
      running = true;
      try {
        await latest.current();
      } catch {
        // load reports its own errors; polling goes on
      } finally {
        running = false;
        if (!stopped && !timer) timer = setTimeout(tick, periodMs);
      }
    };
    const onVisible = () => {
      if (document.visibilityState === 'visible' && !running) {
        if (timer) clearTimeout(timer);
        void tick();
      }
    };
    void tick();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [periodMs, active]);
}
