import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContextStore, type SavedContext } from './context-store';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function file(): string {
  const dir = mkdtempSync(join(tmpdir(), 'contexts-'));
  dirs.push(dir);
  return join(dir, 'contexts.json');
}
const ctx: SavedContext = { hub: '127.0.0.1:7443', token: 'secret-token', fingerprint: 'AA:BB', certPem: 'PEM', hubId: 'h1', operator: 'admin', role: 'admin' };

describe('ContextStore', () => {
  it('saves the context owner-readable only and reads it back', () => {
    const path = file();
    const store = new ContextStore(path);
    expect(store.current()).toBeNull();
    store.save(ctx);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(new ContextStore(path).current()).toEqual(ctx);
    expect(store.trusted('127.0.0.1:7443')).toEqual({ fingerprint: 'AA:BB', certPem: 'PEM' });
  });

  it('forgets the token on disconnect but keeps the trusted fingerprint', () => {
    const path = file();
    const store = new ContextStore(path);
    store.save(ctx);
    store.forgetCurrent();
    expect(store.current()).toBeNull();
    expect(readFileSync(path, 'utf8')).not.toContain('secret-token');
    expect(store.trusted('127.0.0.1:7443')?.fingerprint).toBe('AA:BB');
  });

  it('explains a corrupt file', () => {
    const path = file();
    writeFileSync(path, '{not json');
    const store = new ContextStore(path);
    expect(() => store.current()).toThrow(/cannot read the saved hub connection .*delete the file/);
    store.save(ctx); // connecting again replaces it
    expect(store.current()).toEqual(ctx);
    writeFileSync(path, '{not json');
    store.forgetCurrent(); // and disconnecting removes it
    expect(store.current()).toBeNull();
  });
});
