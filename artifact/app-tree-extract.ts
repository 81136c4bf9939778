// Unpacks an app payload (packTree's ustar stream) into an empty folder.
// Refuses absolute paths, `..`, and any entry below a symlink it created, so
// nothing lands outside the folder; modes are applied without setuid/setgid.
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteReader, type ByteSource } from './byte-reader';
import { ArtifactError } from './errors';
import { BLOCK, decodeHeader, isZeroBlock, paddingFor } from './tar-header';

function safeParts(name: string): string[] {
  const trimmed = name.replace(/\/+$/, '');
  const parts = trimmed.split('/');
  if (trimmed === '' || name.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    throw new ArtifactError('malformed', `app tree entry ${JSON.stringify(name)} is not a plain relative path`);
  }
  return parts;
}

async function writeFileFrom(reader: ByteReader, path: string, size: number, mode: number): Promise<void> {
  const out = createWriteStream(path, { flags: 'wx', mode: mode & 0o777 });
  const done = new Promise<void>((resolve, reject) => out.once('finish', resolve).once('error', reject));
  let remaining = size;
  try {
    while (remaining > 0) {
      const chunk = await reader.readUpTo(Math.min(remaining, 1024 * 1024));
      if (chunk === null) throw new ArtifactError('truncated', `app tree ends inside ${path}`);
      remaining -= chunk.length;
      if (!out.write(chunk)) await new Promise<void>((resolve, reject) => out.once('drain', resolve).once('error', reject));
    }
    out.end();
    await done;
  } catch (err) {
    out.destroy();
    throw err;
  }
}

/** Extracts into `dest`, which must be new or empty (created if missing); returns the number of entries. */
export async function extractTree(source: ByteSource, dest: string): Promise<number> {
  const reader = new ByteReader(source);
  const symlinks = new Set<string>();
  const times: Array<[string, number]> = [];
  const dirModes: Array<[string, number]> = [];
  let count = 0;
  await mkdir(dest, { recursive: true });
  try {
    for (;;) {
      const block = await reader.readExact(BLOCK, 'an app tree header');
      if (isZeroBlock(block)) break;
      const h = decodeHeader(block);
      const parts = safeParts(h.name);
      for (let i = 1; i < parts.length; i++) {
        if (symlinks.has(parts.slice(0, i).join('/'))) throw new ArtifactError('malformed', `app tree entry ${h.name} lies below a symlink`);
      }
      const rel = parts.join('/');
      if (symlinks.has(rel)) throw new ArtifactError('malformed', `app tree entry ${h.name} replaces a symlink`);
      const path = join(dest, ...parts);
      const mode = h.mode & 0o1777; // no setuid/setgid from an artifact
      if (parts.length > 1) await mkdir(join(dest, ...parts.slice(0, -1)), { recursive: true });
      if (h.type === 'directory') {
        // Writable until the end, so a read-only folder can still be filled.
        await mkdir(path, { recursive: true, mode: 0o700 });
        dirModes.push([path, mode]);
      } else if (h.type === 'symlink') {
        await symlink(h.linkname, path);
        symlinks.add(rel);
      } else {
        await writeFileFrom(reader, path, h.size, mode);
        await chmod(path, mode);
        const pad = await reader.readExact(paddingFor(h.size), `the padding of ${h.name}`);
        if (!isZeroBlock(pad)) throw new ArtifactError('malformed', `padding after ${h.name} is not zero bytes`);
      }
      if (h.type !== 'symlink') times.push([path, h.mtime]);
      count++;
    }
    // Directory times last: creating entries inside a folder changes its mtime.
    for (const [path, mode] of dirModes.reverse()) await chmod(path, mode);
    for (const [path, mtime] of times.reverse()) await utimes(path, mtime, mtime);
    return count;
  } finally {
    await reader.close();
  }
}
