import { useState, type FormEvent } from 'react';
import type { HubProbe } from '../../src-main/common/console-api';
import { fleet } from '../api';
import { useConnection } from '../stores/connection-store';
import { PhaseText } from './connection-status';

// Connect to a hub with trust on first use: "Check hub" shows the
// certificate's fingerprint and subject; the operator compares it with the
// one the hub printed, and only then connects trusting exactly that one.

export function ConnectionPanel() {
  const state = useConnection((s) => s.state);
  const setState = useConnection((s) => s.set);
  const [hub, setHub] = useState(state?.hub ?? '');
  const [token, setToken] = useState('');
  const [probe, setProbe] = useState<HubProbe | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function attempt(action: () => Promise<void>): Promise<void> {
    setBusy(true);
    setError('');
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const check = (e: FormEvent) => {
    e.preventDefault();
    setProbe(null);
    void attempt(async () => setProbe(await fleet.connection.probe(hub.trim())));
  };
  const connect = () =>
    attempt(async () => {
      setState(await fleet.connection.connect({ hub: probe!.hub, token: token.trim(), fingerprint: probe!.fingerprint }));
      setProbe(null);
      setToken('');
    });
  const disconnect = () => attempt(async () => setState(await fleet.connection.disconnect()));

  return (
    <section className="connection-panel" aria-labelledby="connection-title">
      <h1 id="connection-title">Hub connection</h1>
      {state && (
        <dl className="summary" data-testid="connection-summary">
          <dt>State</dt>
          <dd>
            <PhaseText state={state} />
          </dd>
          <dt>Hub</dt>
          <dd>{state.hub || '—'}</dd>
          <dt>Trusted certificate</dt>
          <dd className="mono" data-testid="trusted-fingerprint">
            {state.fingerprint || '—'}
          </dd>
          <dt>Operator</dt>
          <dd>{state.operator ? `${state.operator} (${state.role})` : '—'}</dd>
          {state.error && (
            <>
              <dt>Last error</dt>
              <dd className="error-text">{state.error}</dd>
            </>
          )}
        </dl>
      )}
      {state && state.phase !== 'disconnected' && (
        <button type="button" onClick={disconnect} disabled={busy}>
          Disconnect
        </button>
      )}

      <form className="connect-form" onSubmit={check}>
        <h2>Connect to a hub</h2>
        <label>
          Hub address
          <input value={hub} onChange={(e) => setHub(e.target.value)} placeholder="hub.example.com:7443" required autoComplete="off" />
        </label>
        <label>
          Operator token
          <input type="password" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" />
        </label>
        <button type="submit" disabled={busy || !hub.trim()}>
          Check hub
        </button>
      </form>

      {error && (
        <p role="alert" className="notice error">
          {error}
        </p>
      )}

      {probe && (
        <section className="panel probe" aria-labelledby="probe-title" data-testid="probe-result">
          <h2 id="probe-title">Hub certificate</h2>
          <p>Compare this fingerprint with the one the hub printed when it started. Connect only if they are identical.</p>
          <dl className="summary">
            <dt>Hub</dt>
            <dd>{probe.hub}</dd>
            <dt>Subject</dt>
            <dd data-testid="probe-subject">{probe.subject}</dd>
            <dt>SHA-256 fingerprint</dt>
            <dd className="mono" data-testid="probe-fingerprint">
              {probe.fingerprint}
            </dd>
            <dt>Trust</dt>
            <dd>{probe.trusted ? 'Already trusted for this hub' : 'Not trusted yet (first use)'}</dd>
          </dl>
          <button type="button" className="primary" onClick={connect} disabled={busy || !token.trim()}>
            Trust and connect
          </button>
          {!token.trim() && <p className="muted">Enter the operator token to connect.</p>}
        </section>
      )}
    </section>
  );
}
