// The payload of an `app` artifact: a file tree as a ustar stream (regular
// files, directories, symbolic links; modes and mtimes kept, owners not:
// installed files belong to the agent's user). Entries are sorted, so the
// same tree always packs to the same bytes.
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { END_OF_ARCHIVE } from './artifact-tar';
import { ArtifactError } from './errors';
import { encodeHeader, paddingFor } from './tar-header';

async function* walk(root: string, rel: string): AsyncGenerator<Buffer> {
  const names = (await readdir(join(root, rel))).sort();
  for (const name of names) {
    const path = rel ? `${rel}/${name}` : name;
    const full = join(root, path);
    const st = await lstat(full);
    const mtime = Math.floor(st.mtimeMs / 1000);
    if (st.isDirectory()) {
      yield encodeHeader({ name: `${path}/`, size: 0, mode: st.mode, mtime, type: 'directory', linkname: '' });
      yield* walk(root, path);
    } else if (st.isSymbolicLink()) {
      yield encodeHeader({ name: path, size: 0, mode: st.mode, mtime, type: 'symlink', linkname: await readlink(full) });
    } else if (st.isFile()) {
      yield encodeHeader({ name: path, size: st.size, mode: st.mode, mtime, type: 'file', linkname: '' });
      let written = 0;
      for await (const chunk of createReadStream(full, { highWaterMark: 1024 * 1024 })) {
        written += (chunk as Buffer).length;
        if (written > st.size) throw new ArtifactError('payload-size-mismatch', `${full} grew while it was packed`);
        yield chunk as Buffer;
      }
      if (written !== st.size) throw new ArtifactError('payload-size-mismatch', `${full} shrank while it was packed`);
      yield Buffer.alloc(paddingFor(st.size));
    } else {
      throw new ArtifactError('malformed', `${full} is not a regular file, directory or symlink; an app tree holds only those`);
    }
  }
}

/** A ustar stream of the tree under `dir` (paths relative to it). */
export function packTree(dir: string): Readable {
  return Readable.from(
    (async function* () {
      const st = await lstat(dir);
      if (!st.isDirectory()) throw new ArtifactError('malformed', `${dir} is not a directory`);
      yield* walk(dir, '');
      yield END_OF_ARCHIVE;
    })(),
    { objectMode: false },
  );
}
