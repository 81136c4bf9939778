import '@xterm/xterm/css/xterm.css';
import { useEffect, useReducer, useRef, useState } from 'react';
import type { RemoteTarget } from '../../../src-main/common/console-api';
import { useLink } from '../../stores/link-store';
import { useNow } from '../../use-now';
import { formatDuration } from './format-duration';
import { TerminalSession } from './terminal-session';

interface Tab {
  key: number;
  session: TerminalSession;
}

let nextKey = 1;

// Terminal tabs of one device: each tab is one shell; tabs stay mounted
// (hidden when inactive) so their sessions and scrollback live on.
export function TerminalTabs({ target }: { target: RemoteTarget }) {
  const [tabs, setTabs] = useState<Tab[]>([]);
  const [active, setActive] = useState(0);

  const add = () => {
    const tab = { key: nextKey++, session: new TerminalSession(target) };
    setTabs((t) => [...t, tab]);
    setActive(tab.key);
  };
  const remove = (key: number) => {
    const rest = tabs.filter((x) => x.key !== key);
    tabs.find((x) => x.key === key)?.session.dispose();
    setTabs(rest);
    if (active === key) setActive(rest[rest.length - 1]?.key ?? 0);
  };
  // Leaving the device page ends its shells.
  const latest = useRef(tabs);
  useEffect(() => {
    latest.current = tabs;
  }, [tabs]);
  useEffect(() => () => latest.current.forEach((t) => t.session.dispose()), []);

  return (
    <section className="terminal-tabs" aria-label="Terminals">
      <div role="tablist" aria-label="Terminal tabs" className="tab-strip">
        {tabs.map((t, i) => (
          <span key={t.key} className="tab-item">
            <button type="button" role="tab" aria-selected={t.key === active} onClick={() => setActive(t.key)}>
              Terminal {i + 1}
            </button>
            <button type="button" className="tab-close" aria-label={`Close terminal ${i + 1}`} onClick={() => remove(t.key)}>
              ×
            </button>
          </span>
        ))}
        <button type="button" className="primary" onClick={add}>
          New terminal
        </button>
      </div>
      {tabs.length === 0 && <p className="muted">Open a terminal to run a shell on the device{target.via === 'hub' ? ' through the hub (recorded)' : ' over SSH'}.</p>}
      {tabs.map((t, i) => (
        <TerminalPane key={t.key} session={t.session} label={`Terminal ${i + 1}`} visible={t.key === active} />
      ))}
    </section>
  );
}

function TerminalPane({ session, label, visible }: { session: TerminalSession; label: string; visible: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const [, bump] = useReducer((n: number) => n + 1, 0);
  const [query, setQuery] = useState('');

  useEffect(() => session.onChange(bump), [session]);
  useEffect(() => {
    if (!host.current || session.term.element) return;
    session.attach(host.current);
  }, [session]);
  useEffect(() => {
    if (!visible || !host.current) return;
    session.fitNow();
    const observer = new ResizeObserver(() => session.fitNow());
    observer.observe(host.current);
    return () => observer.disconnect();
  }, [session, visible]);

  return (
    <div className="terminal-pane" role="tabpanel" aria-label={label} hidden={!visible} data-renderer={session.renderer}>
      <SessionBar session={session} />
      <div className="terminal-tools">
        <input
          type="search"
          aria-label="Search the terminal"
          placeholder="Search…"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key !== 'Enter') return;
            if (e.shiftKey) session.search.findPrevious(query);
            else session.search.findNext(query);
          }}
        />
        <button type="button" onClick={() => void session.copy()} title="Ctrl+Shift+C">
          Copy
        </button>
        <button type="button" onClick={() => void session.paste()} title="Ctrl+Shift+V">
          Paste
        </button>
        {session.state.phase === 'ended' && (
          <button type="button" className="primary" onClick={() => void session.connect()}>
            Reconnect
          </button>
        )}
        {session.state.phase === 'open' && (
          <button type="button" className="danger" onClick={() => session.close()}>
            End session
          </button>
        )}
      </div>
      <div className="terminal-host" ref={host} data-testid="terminal" />
    </div>
  );
}

function SessionBar({ session }: { session: TerminalSession }) {
  const now = useNow(1000);
  const link = useLink((s) => s.state);
  const st = session.state;
  const info = st.phase === 'connecting' ? null : st.info;
  const state = link !== 'open' ? 'console link lost — reconnecting…' : st.phase === 'connecting' ? 'connecting…' : st.phase === 'open' ? 'connected' : `ended: ${st.reason}`;
  return (
    <dl className="session-bar" aria-label="Session">
      <dt>Device</dt>
      <dd>{session.target.deviceId}</dd>
      <dt>User</dt>
      <dd>{info?.operator || '—'}</dd>
      <dt>Via</dt>
      <dd data-testid="session-via">{session.target.via === 'hub' ? 'hub relay' : 'direct SSH'}</dd>
      <dt>Duration</dt>
      <dd data-testid="session-duration">{info ? formatDuration((st.phase === 'ended' ? st.endedMs : now) - info.startedMs) : '—'}</dd>
      <dt>State</dt>
      <dd role="status" data-testid="session-state" className={st.phase === 'ended' ? 'error-text' : undefined}>
        {state}
      </dd>
      {info?.recorded && (
        <dd className="badge recorded" title="The hub records this session (asciicast v2)">
          recorded
        </dd>
      )}
      <dd className="muted">{session.renderer === 'webgl' ? 'WebGL' : 'DOM'} renderer</dd>
    </dl>
  );
}
