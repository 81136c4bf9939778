import type { ConnectionState } from '../../src-main/common/console-api';
import { useConnection } from '../stores/connection-store';

// The connection to the hub in a few words, and the banner that marks the
// device list as offline data.

const LABELS: Record<ConnectionState['phase'], string> = {
  online: 'Online',
  connecting: 'Connecting…',
  offline: 'Offline',
  disconnected: 'Not connected',
};

export function PhaseText({ state }: { state: ConnectionState }) {
  return (
    <span className={`phase phase-${state.phase}`} data-testid="connection-phase">
      <span className="dot" aria-hidden="true" />
      {LABELS[state.phase]}
      {state.phase === 'connecting' && state.error ? ` — ${state.error}` : ''}
    </span>
  );
}

export function ConnectionStatus() {
  const state = useConnection((s) => s.state);
  if (!state) return null;
  return (
    <div className="connection-status" aria-label="Hub connection">
      <PhaseText state={state} />
      {state.hub && <span className="hub mono">{state.hub}</span>}
      {state.embedded && (
        <span className="badge embedded" title="This hub runs inside the console with simulated devices">
          Embedded demo hub
        </span>
      )}
    </div>
  );
}

export function OfflineBanner() {
  const state = useConnection((s) => s.state);
  if (!state || state.phase !== 'offline') return null;
  const asOf = state.syncedAtMs ? new Date(state.syncedAtMs).toLocaleString() : 'an unknown time';
  return (
    <div role="status" className="banner offline" data-testid="offline-banner">
      Offline — showing the fleet as of {asOf}.{state.error ? ` (${state.error})` : ''}
    </div>
  );
}
