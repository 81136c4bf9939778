import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FACTORY_IMAGE_SIZE, FACTORY_VERSION, factoryImage, makeSimRootfs, parseSimRootfsHeader } from './sim-rootfs';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('simulated rootfs images', () => {
  it('the factory image is made once per process and is the factory version', () => {
    const image = factoryImage();
    expect(factoryImage()).toBe(image);
    expect(image.length).toBe(FACTORY_IMAGE_SIZE);
    expect(sha(image)).toBe(sha(makeSimRootfs({ version: FACTORY_VERSION })));
    expect(parseSimRootfsHeader(image)).toEqual({ version: FACTORY_VERSION, healthy: true, boots: true });
  });

  it('images differ by version and health', () => {
    const a = makeSimRootfs({ version: '2.0.0' });
    expect(sha(a)).not.toBe(sha(factoryImage()));
    expect(sha(makeSimRootfs({ version: '2.0.0', healthy: false }))).not.toBe(sha(a));
  });
});
