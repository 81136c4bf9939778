import { randomUUID } from 'node:crypto';
import type { ConsoleEvent, RemoteShellInfo } from '../../common/console-api';
import type { HubSession } from '../connection/hub-session';
import { CreditGranter, CreditSender } from './credit';
import { openHubChannel, type HubChannel } from './hub-channel';
import { RemoteFailure } from './remote-failure';

interface ShellEntry {
  channel: HubChannel;
  input: CreditSender;
  output: CreditGranter;
}

// Shells relayed by the hub. Output goes to the renderer as events; the
// device gets credit back only as the renderer acknowledges what it has
// written to the terminal (shellAck), so a slow or hidden terminal slows
// the device's program instead of piling output up here, in the bridge or
// on the hub. Keystrokes are sent within the credit the device grants.
export class HubShells {
  private readonly shells = new Map<string, ShellEntry>();

  constructor(
    private readonly session: HubSession,
    private readonly emit: (e: ConsoleEvent) => void,
    private readonly operator: () => string,
  ) {}

  async open(deviceId: string, size: { cols: number; rows: number }): Promise<RemoteShellInfo> {
    const { cols, rows } = checkSize(size);
    const channel = await openHubChannel(this.session, deviceId, { kind: { $case: 'shell', shell: { operator: '', cols, rows } } });
    const shellId = randomUUID();
    const entry: ShellEntry = {
      channel,
      input: new CreditSender((chunk) => channel.send({ $case: 'data', data: chunk })),
      output: new CreditGranter((bytes) => channel.send({ $case: 'window', window: { bytes } })),
    };
    this.shells.set(shellId, entry);
    // Listeners go on after the caller has its shellId (the answer leaves
    // first), so no output event names a shell the renderer does not know yet.
    setImmediate(() => this.attach(shellId, entry));
    return { shellId, deviceId, via: 'hub', sessionId: channel.sessionId, recorded: channel.recorded, operator: this.operator(), startedMs: Date.now() };
  }

  private attach(shellId: string, entry: ShellEntry): void {
    const { channel } = entry;
    let exit: { code: number | null; signal: string } = { code: null, signal: '' };
    channel.onFrame((frame) => {
      try {
        switch (frame.$case) {
          case 'data':
          case 'stderr': {
            const bytes = frame.$case === 'data' ? frame.data : frame.stderr;
            entry.output.received(bytes.byteLength);
            this.emit({ type: 'remote-shell-output', shellId, data: Buffer.from(bytes).toString('base64') });
            break;
          }
          case 'window':
            entry.input.grant(frame.window.bytes);
            break;
          case 'exit':
            exit = { code: frame.exit.code, signal: frame.exit.signal ?? '' };
            break;
        }
      } catch (err) {
        channel.close(`protocol: ${(err as Error).message}`);
      }
    });
    channel.onClose((reason, error) => {
      this.shells.delete(shellId);
      entry.input.dispose();
      this.emit({ type: 'remote-shell-exit', shellId, ...exit, reason: error ? `${error.code}: ${error.message}` : reason });
    });
    entry.output.start();
  }

  has(shellId: string): boolean {
    return this.shells.has(shellId);
  }

  input(shellId: string, data: string): void {
    if (typeof data !== 'string') throw new Error('shell input must be text');
    // Keystrokes beyond the device's credit wait here; a person cannot type a window's worth.
    this.shell(shellId).input.write(Buffer.from(data, 'utf8'));
  }

  ack(shellId: string, bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) return;
    this.shells.get(shellId)?.output.consumed(bytes);
  }

  resize(shellId: string, cols: number, rows: number): void {
    const size = checkSize({ cols, rows });
    this.shell(shellId).channel.send({ $case: 'resize', resize: size });
  }

  close(shellId: string): void {
    this.shells.get(shellId)?.channel.close('closed by the operator');
  }

  closeAll(): void {
    for (const id of [...this.shells.keys()]) this.close(id);
  }

  private shell(shellId: string): ShellEntry {
    const entry = this.shells.get(shellId);
    if (!entry) throw new RemoteFailure('closed', `shell ${shellId} is not open (it ended or was closed); open a new one`);
    return entry;
  }
}

export function checkSize(size: { cols: number; rows: number }): { cols: number; rows: number } {
  const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) <= 1000;
  if (!size || !ok(size.cols) || !ok(size.rows)) throw new Error(`terminal size must be whole columns and rows between 1 and 1000, got ${JSON.stringify(size)}`);
  return { cols: size.cols, rows: size.rows };
}
