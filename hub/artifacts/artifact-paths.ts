// Where uploaded artifacts and trusted signing keys live in the data folder:
//   DATA/artifacts/tmp/          uploads in progress (cleared on hub start)
//   DATA/artifacts/sha256/<hex>  verified artifacts, named by their sha256
//   DATA/trusted-keys/*.pub      ed25519 public keys (SPKI PEM) the hub trusts
// tmp/ and sha256/ share a file system, so storing is a rename.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface ArtifactPaths {
  tmp: string;
  store: string;
  trustedKeys: string;
}

export function artifactPaths(dataDir: string): ArtifactPaths {
  return {
    tmp: join(dataDir, 'artifacts', 'tmp'),
    store: join(dataDir, 'artifacts', 'sha256'),
    trustedKeys: join(dataDir, 'trusted-keys'),
  };
}

/** Creates the folders and deletes uploads a previous run left half done; returns how many. */
export function prepareArtifactDirs(paths: ArtifactPaths): number {
  for (const dir of [paths.tmp, paths.store, paths.trustedKeys]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const leftovers = readdirSync(paths.tmp);
  for (const name of leftovers) rmSync(join(paths.tmp, name), { recursive: true, force: true });
  return leftovers.length;
}

export function storedArtifactPath(paths: ArtifactPaths, id: string): string {
  return join(paths.store, id);
}
