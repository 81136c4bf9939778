import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic, type HubPaths } from '../data-dir';
import type { HubStore } from '../store/store';

/**
 * The bootstrap operator "admin". Its token lives in DATA/admin.token (0600)
 * for the person who runs the hub; the database keeps only its hash. The file
 * is the source: if it exists, its token is (re)registered, so restoring a
 * backup of the folder keeps the same token.
 */
export async function ensureAdminToken(paths: HubPaths, store: HubStore, log: (line: string) => void): Promise<string> {
  let token: string;
  if (existsSync(paths.adminToken)) {
    token = readFileSync(paths.adminToken, 'utf8').trim();
    if (!token) throw new Error(`${paths.adminToken} is empty: delete it and restart the hub to make a new admin token`);
    chmodSync(paths.adminToken, 0o600);
  } else {
    token = `fleet_admin_${randomBytes(32).toString('base64url')}`;
    writeFileAtomic(paths.adminToken, `${token}\n`, 0o600);
    log(`created admin token in ${paths.adminToken}`);
  }
  await store.setOperatorToken('admin', 'admin', token, 'hub');
  return token;
}
