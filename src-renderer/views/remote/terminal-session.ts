import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import type { RemoteShellInfo, RemoteTarget } from '../../../src-main/common/console-api';
import { fleet } from '../../api';
import { errorText } from './remote-error';
import { onRemoteEvent } from './remote-events';
import { routeStyleElementsThroughCssom } from './xterm-styles';

export type ShellState =
  | { phase: 'connecting' }
  | { phase: 'open'; info: RemoteShellInfo }
  | { phase: 'ended'; info: RemoteShellInfo | null; reason: string; endedMs: number };

/** Acknowledge output in batches: fewer calls, and the services grant credit per half window anyway. */
const ACK_BATCH = 32 * 1024;
const ACK_DELAY_MS = 30;

// One terminal tab: an xterm.js instance (WebGL renderer, or the DOM
// renderer when WebGL is unavailable or its context is lost) bound to one
// remote shell. Output is acknowledged to the services only once xterm.js
// has parsed it, so a terminal that cannot keep up slows the device.
export class TerminalSession {
  readonly term: Terminal;
  readonly fit = new FitAddon();
  readonly search = new SearchAddon();
  renderer: 'webgl' | 'dom' = 'dom';
  state: ShellState = { phase: 'connecting' };
  private shellId = '';
  private offEvents: (() => void) | null = null;
  private pendingAck = 0;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<() => void>();
  private disposed = false;

  constructor(readonly target: RemoteTarget) {
    routeStyleElementsThroughCssom();
    this.term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "SF Mono", Menlo, Consolas, monospace',
      fontSize: 13,
      scrollback: 5000,
      // Rows are mirrored into an accessibility tree that screen readers (and the e2e tests) read.
      screenReaderMode: true,
      allowProposedApi: true,
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(this.search);
    this.term.loadAddon(new WebLinksAddon((_e, uri) => window.open(uri, '_blank', 'noopener,noreferrer')));
    this.term.onData((data) => {
      if (this.state.phase === 'open') fleet.remote.shellInput(this.shellId, data).catch(() => undefined);
    });
    this.term.onResize(({ cols, rows }) => {
      if (this.state.phase === 'open') fleet.remote.shellResize(this.shellId, cols, rows).catch(() => undefined);
    });
    // Ctrl+Shift+C / Ctrl+Shift+V: copy the selection, paste the clipboard (Ctrl+C stays an interrupt).
    this.term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
      if (e.code === 'KeyC') {
        void this.copy();
        return false;
      }
      if (e.code === 'KeyV') {
        void this.paste();
        return false;
      }
      return true;
    });
  }

  /** Puts the terminal in its element and starts the shell. */
  attach(element: HTMLElement): void {
    this.term.open(element);
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => {
        webgl.dispose();
        this.renderer = 'dom';
        this.changed();
      });
      this.term.loadAddon(webgl);
      this.renderer = 'webgl';
    } catch {
      this.renderer = 'dom'; // no WebGL here: xterm.js draws with the DOM renderer
    }
    this.fitNow();
    void this.connect();
  }

  /** (Re)opens the shell in this tab. */
  async connect(): Promise<void> {
    this.state = { phase: 'connecting' };
    this.changed();
    try {
      const info = await fleet.remote.openShell(this.target, { cols: this.term.cols, rows: this.term.rows });
      if (this.disposed) {
        void fleet.remote.closeShell(info.shellId);
        return;
      }
      this.shellId = info.shellId;
      // Subscribed at once, before any event for this id is handled.
      this.offEvents = onRemoteEvent(info.shellId, (e) => {
        if (e.type === 'remote-shell-output') this.output(e.data);
        else if (e.type === 'remote-shell-exit') {
          this.offEvents?.();
          this.offEvents = null;
          const how = e.code !== null ? `exit ${e.code}` : e.signal ? `signal ${e.signal}` : '';
          this.state = { phase: 'ended', info, reason: [how, e.reason && e.reason !== 'exit' ? e.reason : ''].filter(Boolean).join(' — ') || 'ended', endedMs: Date.now() };
          this.term.write(`\r\n\x1b[2m[session ended: ${this.state.reason}]\x1b[0m\r\n`);
          this.changed();
        }
      });
      this.state = { phase: 'open', info };
      this.changed();
      this.term.focus();
    } catch (err) {
      this.state = { phase: 'ended', info: null, reason: errorText(err), endedMs: Date.now() };
      this.changed();
    }
  }

  fitNow(): void {
    try {
      this.fit.fit();
    } catch {
      // not visible yet
    }
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }

  async copy(): Promise<void> {
    const text = this.term.getSelection();
    if (text) await navigator.clipboard?.writeText(text).catch(() => undefined);
  }

  async paste(): Promise<void> {
    const text = await navigator.clipboard?.readText().catch(() => '');
    if (text) this.term.paste(text);
  }

  close(): void {
    if (this.state.phase === 'open') void fleet.remote.closeShell(this.shellId).catch(() => undefined);
  }

  dispose(): void {
    this.disposed = true;
    this.close();
    this.offEvents?.();
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.term.dispose();
    this.listeners.clear();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private output(base64: string): void {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    this.term.write(bytes, () => this.ack(bytes.length));
  }

  private ack(n: number): void {
    this.pendingAck += n;
    if (this.pendingAck >= ACK_BATCH) return this.flushAck();
    this.ackTimer ??= setTimeout(() => this.flushAck(), ACK_DELAY_MS);
  }

  private flushAck(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const n = this.pendingAck;
    this.pendingAck = 0;
    if (n > 0 && this.state.phase === 'open') void fleet.remote.shellAck(this.shellId, n).catch(() => undefined);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }
}
