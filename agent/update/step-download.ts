import { access, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadArtifact } from './download';
import { freeSpace } from './free-space';
import { holds } from './pauses';
import { finish, type StepContext, type StepResult } from './step-context';
import { UpdateError, reasonOf } from './update-error';

// Download: artifact.part grows (resumably) until it is the whole artifact
// with the right sha256, then becomes `artifact`.

export function artifactFile(dir: string): string {
  return join(dir, 'artifact');
}

export async function downloadStep(c: StepContext): Promise<StepResult> {
  if (c.state.abort) return finish('aborted', 'aborted by the operator before installing');
  const done = artifactFile(c.dir);
  const part = `${done}.part`;
  const complete = await access(done).then(
    () => true,
    () => false,
  );
  if (!complete) {
    await c.hooks('Download', 'Enter');
    await mkdir(c.dir, { recursive: true });
    const { order } = c.state;
    try {
      await downloadArtifact({
        file: part,
        artifactId: order.artifactId,
        size: order.artifactSize,
        durableOffset: c.state.bytesDone,
        open: (offset) => c.opts.download(order.artifactId, offset, order.artifactSize),
        waitOnline: (signal) => c.waitOnline(signal),
        onDurable: (offset) => c.save({ bytesDone: offset }),
        onProgress: (bytes, total) => c.progress(bytes, total),
        freeSpace: c.opts.freeSpace ?? freeSpace,
        log: (line) => c.log(line),
        signal: c.signal,
        syncEvery: c.opts.downloadSyncEvery,
        backoff: c.opts.downloadBackoff,
      });
    } catch (err) {
      if (c.signal.aborted) throw err;
      await c.hooks('Download', 'Error');
      throw err instanceof UpdateError ? err : new UpdateError(`download failed: ${reasonOf(err)}`);
    }
    await rename(part, done);
    c.log(`downloaded ${c.state.order.artifactName} ${c.state.order.artifactVersion} (sha256 matches the artifact id)`);
    await c.hooks('Download', 'Leave');
  }
  // With a pause before install, writing the inactive slot still counts as getting the update ready.
  return { step: 'store', status: holds(c.state, 'install') ? 'downloading' : 'installing' };
}
