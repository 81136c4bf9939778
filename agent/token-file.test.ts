import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readToken, removeToken, TOKEN_FILE, writeToken } from './token-file';

const dir = mkdtempSync(join(tmpdir(), 'agent-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HUB = 'AA:BB';
const now = 1_000_000;
const saved = { token: 't-1', expiresMs: now + 600_000, refreshAtMs: now + 450_000, hub: HUB };

describe('token file', () => {
  it('round-trips a token, readable by the owner only', async () => {
    await writeToken(dir, saved);
    expect(statSync(join(dir, TOKEN_FILE)).mode & 0o777).toBe(0o600);
    expect(await readToken(dir, HUB, 60_000, now)).toEqual(saved);
  });

  it('ignores a token of another hub, one about to expire, and a damaged file', async () => {
    await writeToken(dir, saved);
    expect(await readToken(dir, 'CC:DD', 60_000, now)).toBeUndefined();
    expect(await readToken(dir, HUB, 60_000, saved.expiresMs - 59_999)).toBeUndefined();
    writeFileSync(join(dir, TOKEN_FILE), '{"token": "t-1", "expi');
    expect(await readToken(dir, HUB, 60_000, now)).toBeUndefined();
    writeFileSync(join(dir, TOKEN_FILE), JSON.stringify({ ...saved, token: '' }));
    expect(await readToken(dir, HUB, 60_000, now)).toBeUndefined();
  });

  it('forgets the token; a missing file is no token', async () => {
    await writeToken(dir, saved);
    await removeToken(dir);
    expect(await readToken(dir, HUB, 60_000, now)).toBeUndefined();
    await removeToken(dir);
  });
});
