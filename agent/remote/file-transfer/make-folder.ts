import { chmod, stat } from 'node:fs/promises';
import type { FileInfo } from '../channel-frame';
import type { FilesConfig } from '../remote-config';
import { fsError } from '../remote-error';
import type { RootPolicy } from './root-policy';
import { makeFolders, resolveOwner } from './upload';

// An empty folder made on the operator's request (the console's "New folder"),
// under the same root policy as uploads: the path's real location must be
// inside a root, missing parents are made too (0755 less the umask, the
// configured upload owner/group), each checked again once made, and a folder
// that exists already is fine (like `mkdir -p`). The answer is the folder's
// `file{size: 0, mode, mtimeMs, offset: 0}`.

export interface MakeFolderRequest {
  path: string;
  /** Permission bits for the folder itself when it is made (never suid/sgid/sticky); default 0755 less the umask. */
  mode?: number;
}

export async function makeFolder(policy: RootPolicy, config: Pick<FilesConfig, 'uploadOwner' | 'uploadGroup'>, request: MakeFolderRequest): Promise<FileInfo> {
  const target = await policy.resolveInRoots(request.path, 'new-folder');
  if (target.missingFolders) {
    await makeFolders(policy, target.missingFolders, resolveOwner(config.uploadOwner, config.uploadGroup), request.path);
    if (request.mode !== undefined) await chmod(target.path, request.mode & 0o777).catch((err) => Promise.reject(fsError(err, request.path)));
  }
  const st = await stat(target.path).catch((err) => Promise.reject(fsError(err, request.path)));
  return { size: 0, mode: st.mode & 0o777, mtimeMs: Math.floor(st.mtimeMs), offset: 0 };
}
