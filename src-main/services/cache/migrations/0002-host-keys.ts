import type { Migration } from '../migration';

// Direct mode's trust-on-first-use memory: the SSH host key fingerprint first
// seen at each host:port (like OpenSSH's known_hosts). Unlike the device
// tables this is not a copy of hub data: deleting the cache forgets which
// keys were trusted, and the next connection trusts on first use again.
export const migration0002HostKeys: Migration = {
  version: 2,
  name: 'host-keys',
  up: `
    CREATE TABLE host_keys (
      host           TEXT NOT NULL,
      port           INTEGER NOT NULL,
      algorithm      TEXT NOT NULL,
      -- "SHA256:" + unpadded base64 of the key blob's SHA-256, as ssh-keygen -l prints it
      fingerprint    TEXT NOT NULL,
      first_seen_ms  INTEGER NOT NULL,
      last_seen_ms   INTEGER NOT NULL,
      PRIMARY KEY (host, port)
    ) WITHOUT ROWID;
  `,
};
