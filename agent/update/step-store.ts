import { join } from 'node:path';
import { otherSlot } from '../bootloader/bootloader';
import { artifactFile } from './step-download';
import type { StepContext, StepResult } from './step-context';
import { storeArtifact } from './store-artifact';

// Verify the artifact (signature, compatibility, payload hashes) while each
// payload goes to its installer's store(): nothing that runs changes here.

export function artifactHooksDir(dir: string): string {
  return join(dir, 'hooks');
}

export async function storeStep(c: StepContext): Promise<StepResult> {
  if (c.state.abort) return { step: 'done', status: 'aborted', reason: 'aborted by the operator before installing' };
  const { order } = c.state;
  const manifest = await storeArtifact({
    file: artifactFile(c.dir),
    trustedKeys: c.opts.trustedKeys,
    deviceType: c.opts.deviceType,
    provides: c.state.providesBefore,
    allowDowngrade: order.allowDowngrade,
    force: order.force,
    installers: c.opts.installers,
    hooksDir: artifactHooksDir(c.dir),
    contextFor: async (m, payload) => (await c.payloads(m)).find((p) => p.payload.index === payload.index)!.ctx,
    onManifest: async (m) => {
      c.log(`artifact ${m.name} ${m.version} verified (signature trusted, compatible with ${c.opts.deviceType})`);
      const rootfs = m.payloads.some((p) => p.type === 'rootfs-image');
      const bootloader = rootfs ? await c.bootloader() : null;
      // Which slot the image goes to, for the decisions after a restart.
      const targetSlot = bootloader ? otherSlot((await bootloader.state()).active) : undefined;
      await c.save({ targetSlot });
    },
  });
  await c.save({ manifest });
  return { step: 'install', status: 'installing' };
}
