import { createHash } from 'node:crypto';
import type { PhaseConfig } from './rollout-config';

/**
 * Assigns each device a 1-based phase: devices sorted by
 * sha256(deploymentId + deviceId) (reproducible, and unrelated to ids or
 * enrollment order), then cut into phases of the configured sizes. A percent
 * is of all the deployment's devices (rounded, at least 1 when the percent is
 * above 0 and devices remain); the last phase takes the rest.
 */
export function assignPhases(deploymentId: string, deviceIds: readonly string[], phases: readonly PhaseConfig[]): Map<string, number> {
  const order = deviceIds
    .map((id) => ({ id, key: createHash('sha256').update(deploymentId).update(id).digest('hex') }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const sizes = phaseSizes(order.length, phases);
  const out = new Map<string, number>();
  let next = 0;
  sizes.forEach((size, i) => {
    for (const { id } of order.slice(next, next + size)) out.set(id, i + 1);
    next += size;
  });
  return out;
}

/** How many of `total` devices each phase gets; sums to `total`. */
export function phaseSizes(total: number, phases: readonly PhaseConfig[]): number[] {
  const sizes: number[] = [];
  let left = total;
  phases.forEach((p, i) => {
    if (i === phases.length - 1) {
      sizes.push(left);
      return;
    }
    const wanted = p.count > 0 ? p.count : Math.max(p.percent > 0 ? 1 : 0, Math.round((p.percent * total) / 100));
    const size = Math.min(left, wanted);
    sizes.push(size);
    left -= size;
  });
  return sizes;
}
