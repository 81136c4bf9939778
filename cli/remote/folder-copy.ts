import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ChannelRefused, openChannel, type HubLink } from './channel-client';
import { downloadFile } from './file-download';
import { uploadFile, type TransferOptions, type TransferResult } from './file-upload';
import { RefusalError, refusalError } from './refusal';
import { makeRemoteFolder } from './remote-mkdir';
import { isCut, TransferCancelled, withResumes } from './resume';
import { unchangedSha256 } from './unchanged';

// `fleetctl cp -r`: a folder is its files, each copied on its own channel
// exactly as a single file is (sha256 end to end, temporary name and
// rename, resumable), one after the other. Upward, the device creates the
// folders an upload's path needs inside its allowed roots (the same root
// checks as the file: no `..`, no link out), so mostly files travel; a
// folder with nothing in it is made on its own (mkdir, with its mode). Downward, the device's folders are listed
// page by page and made here, with the device's modes once their files are in.
// The first failure stops the copy: run the same command again — files
// already there whole (same size, mode and sha256 on both sides:
// unchanged.ts) are not sent again, a cut upload resumes by transfer id, a
// cut download from its kept bytes.

export interface FolderCopyOptions extends TransferOptions {
  /** Called before each file, e.g. to start its progress line. */
  onFile?: (name: string) => void;
  /** A file arrived whole, or was there already (`unchanged`). */
  onDone?: (result: TransferResult) => void;
  /** Something was left out (a link to a folder, a device file). */
  onSkip?: (what: string) => void;
}

const LIST_PAGE = 1000;

/** Uploads every regular file under `localDir` to `remoteDir` (which need not exist), keeping relative paths and modes. */
export async function uploadFolder(link: HubLink, deviceId: string, localDir: string, remoteDir: string, options: FolderCopyOptions = {}): Promise<TransferResult[]> {
  const results: TransferResult[] = [];
  const walk = async (dir: string, remote: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    const mode = (await stat(dir)).mode & 0o777;
    if (entries.length === 0) await again(options, () => makeRemoteFolder(link, deviceId, remote, mode));
    const there = entries.length > 0 ? await again(options, () => remoteFiles(link, deviceId, remote)) : new Map<string, RemoteEntry>();
    for (const entry of entries) {
      const local = join(dir, entry.name);
      const target = posix.join(remote, entry.name);
      // A link is followed to a file; a link to a folder is left out (no loops).
      const kind = entry.isSymbolicLink() ? await stat(local).then((s) => (s.isFile() ? 'file' : 'other'), () => 'other') : entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : 'other';
      if (kind === 'dir') await walk(local, target);
      else if (kind === 'file') {
        options.onFile?.(local);
        const st = await stat(local);
        const sha256 = await again(options, () => unchangedSha256(link, deviceId, local, target, st, there.get(entry.name), 'upload'));
        results.push(sha256 ? { path: target, size: st.size, sha256, resumedFrom: st.size, unchanged: true } : await uploadFile(link, deviceId, local, target, options));
        options.onDone?.(results.at(-1)!);
      } else options.onSkip?.(`${local} (not a regular file or folder)`);
    }
  };
  await walk(localDir, remoteDir);
  return results;
}

/** Downloads every file under the device's `remoteDir` into `localDir` (created if missing), keeping relative paths and modes. */
export async function downloadFolder(link: HubLink, deviceId: string, remoteDir: string, localDir: string, options: FolderCopyOptions = {}): Promise<TransferResult[]> {
  const results: TransferResult[] = [];
  const walk = async (remote: string, local: string): Promise<void> => {
    const { path, entries } = await again(options, () => listAll(link, deviceId, remote));
    await mkdir(local, { recursive: true, mode: 0o700 });
    for (const entry of entries) {
      const from = posix.join(path, entry.name);
      const to = join(local, entry.name);
      if (entry.type === 'dir') {
        await walk(from, to);
        await chmod(to, entry.mode & 0o777);
      } else if (entry.type === 'file' || entry.type === 'symlink') {
        // The device follows a link that stays inside its roots; one to a folder is refused as not-regular.
        options.onFile?.(from);
        const here = await stat(to).then((st) => (st.isFile() ? st : undefined), () => undefined);
        const sha256 = here && entry.type === 'file' ? await again(options, () => unchangedSha256(link, deviceId, to, from, here, entry, 'download')) : undefined;
        if (sha256) {
          results.push({ path: to, size: entry.size, sha256, resumedFrom: entry.size, unchanged: true });
          options.onDone?.(results.at(-1)!);
          continue;
        }
        try {
          results.push(await downloadFile(link, deviceId, from, to, options));
          options.onDone?.(results.at(-1)!);
        } catch (err) {
          if (entry.type === 'symlink' && err instanceof RefusalError && err.code === 'not-regular') options.onSkip?.(`${from} (a link to a folder)`);
          else throw err;
        }
      } else options.onSkip?.(`${from} (not a regular file or folder)`);
    }
  };
  await walk(remoteDir, localDir);
  return results;
}

export interface RemoteEntry {
  name: string;
  type: string;
  size: number;
  mode: number;
}

/** The regular files of a device folder by name; none when it does not exist (yet) or cannot be listed (the upload then says why). A cut is thrown (tried again). */
async function remoteFiles(link: HubLink, deviceId: string, path: string): Promise<Map<string, RemoteEntry>> {
  try {
    const { entries } = await listAll(link, deviceId, path);
    return new Map(entries.filter((e) => e.type === 'file').map((e) => [e.name, e]));
  } catch (err) {
    if (err instanceof RefusalError && !isCut(err)) return new Map();
    throw err;
  }
}

/** A listing or a mkdir of the copy, tried again after a cut like the files (resume.ts). */
function again<T>(options: FolderCopyOptions, run: () => Promise<T>): Promise<T> {
  return withResumes(run, options, async () => new TransferCancelled('the copy'));
}

/** Every entry of a device folder (all pages), sorted by name; the folder's real path. */
export async function listAll(link: HubLink, deviceId: string, path: string): Promise<{ path: string; entries: RemoteEntry[] }> {
  const entries: RemoteEntry[] = [];
  let real = path;
  let cursor: string | undefined;
  do {
    let channel;
    try {
      channel = await openChannel(link, deviceId, { kind: { $case: 'file', file: { op: 'list', path, cursor, limit: LIST_PAGE } } }, { grant: false });
    } catch (err) {
      if (err instanceof ChannelRefused) throw refusalError(err.code, err.message);
      throw err;
    }
    let page: { path: string; entries: RemoteEntry[]; nextCursor?: string } | undefined;
    channel.onFrame((frame) => {
      if (frame.$case === 'listing') page = frame.listing;
    });
    const end = await channel.ended;
    if (end.error) throw refusalError(end.error.code, end.error.message);
    if (!page) throw refusalError('protocol', `the device sent no listing of ${path} (${end.reason})`);
    real = page.path;
    entries.push(...page.entries);
    cursor = page.nextCursor || undefined;
  } while (cursor);
  return { path: real, entries };
}
