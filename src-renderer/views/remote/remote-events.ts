import type { ConsoleEvent } from '../../../src-main/common/console-api';
import { fleet } from '../../api';

// One subscription to the services' events, fanned out by id, so a view
// sees only its shell, transfer or tunnel.
type Listener = (e: ConsoleEvent) => void;
const byId = new Map<string, Set<Listener>>();
const any = new Set<Listener>();
let subscribed = false;

function idOf(e: ConsoleEvent): string {
  switch (e.type) {
    case 'remote-shell-output':
    case 'remote-shell-exit':
      return e.shellId;
    case 'remote-transfer-start':
    case 'remote-transfer-progress':
    case 'remote-transfer-end':
      return e.transferId;
    case 'remote-tunnel':
      return e.tunnel.tunnelId;
    case 'remote-tunnel-error':
    case 'remote-tunnel-closed':
      return e.tunnelId;
    default:
      return '';
  }
}

function ensure(): void {
  if (subscribed) return;
  subscribed = true;
  fleet.onEvent((e) => {
    const id = idOf(e);
    if (!id) return;
    for (const l of [...(byId.get(id) ?? [])]) l(e);
    for (const l of [...any]) l(e);
  });
}

/** Events about one shell, transfer or tunnel id. */
export function onRemoteEvent(id: string, listener: Listener): () => void {
  ensure();
  let set = byId.get(id);
  if (!set) byId.set(id, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) byId.delete(id);
  };
}

/** Every remote event (the tunnels list). */
export function onAnyRemoteEvent(listener: Listener): () => void {
  ensure();
  any.add(listener);
  return () => any.delete(listener);
}
