import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Role } from '../../common/console-api';

/** What the console needs to reconnect to its hub after a restart. */
export interface SavedContext {
  hub: string;
  /** operator bearer token: the one secret in the file */
  token: string;
  /** SHA-256 fingerprint the operator accepted */
  fingerprint: string;
  /** the hub certificate (self-signed) the fingerprint names */
  certPem: string;
  hubId: string;
  operator: string;
  role: Role | '';
}

/** A hub certificate the operator accepted once (trust on first use). Not secret. */
export interface TrustedHub {
  fingerprint: string;
  certPem: string;
}

interface ContextsFile {
  version: 1;
  current: SavedContext | null;
  trusted: Record<string, TrustedHub>;
}

// `contexts.json` in the user data folder, mode 0600 because it holds the
// operator token. Written to a temporary file and renamed, so a crash never
// leaves half a file. Disconnecting removes the token; the trusted
// fingerprints stay, like ssh's known_hosts, so a changed certificate is
// noticed on the next probe.
export class ContextStore {
  constructor(private readonly file: string) {}

  current(): SavedContext | null {
    return this.read().current;
  }

  trusted(hub: string): TrustedHub | null {
    return this.read().trusted[hub] ?? null;
  }

  /** Saving also replaces a file that cannot be read: the operator just chose what to keep. */
  save(context: SavedContext): void {
    let data: ContextsFile;
    try {
      data = this.read();
    } catch {
      data = { version: 1, current: null, trusted: {} };
    }
    data.current = context;
    data.trusted[context.hub] = { fingerprint: context.fingerprint, certPem: context.certPem };
    this.write(data);
  }

  /** Removes the token; a file that cannot be read is removed whole. */
  forgetCurrent(): void {
    let data: ContextsFile;
    try {
      data = this.read();
    } catch {
      rmSync(this.file, { force: true });
      return;
    }
    if (!data.current) return;
    data.current = null;
    this.write(data);
  }

  private read(): ContextsFile {
    if (!existsSync(this.file)) return { version: 1, current: null, trusted: {} };
    let parsed: Partial<ContextsFile>;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read the saved hub connection ${this.file}: ${(err as Error).message}; delete the file and connect again`);
    }
    const current = parsed.current && isContext(parsed.current) ? parsed.current : null;
    const trusted = parsed.trusted && typeof parsed.trusted === 'object' ? parsed.trusted : {};
    return { version: 1, current, trusted };
  }

  private write(data: ContextsFile): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600); // mode applies only on creation; a leftover tmp may be wider
    renameSync(tmp, this.file);
  }
}

function isContext(c: unknown): c is SavedContext {
  const o = c as Record<string, unknown>;
  return ['hub', 'token', 'fingerprint', 'certPem', 'hubId', 'operator', 'role'].every((k) => typeof o[k] === 'string');
}
