// Mutation fuzzing of the reader: thousands of altered copies of a small
// signed artifact (byte flips, insertions, deletions, overwrites,
// truncations, with a seeded PRNG so a failure reproduces by its seed and
// round). Every altered artifact must be refused with an ArtifactError,
// within a time bound, and no payload stream may end (= be vouched for)
// with bytes other than the original ones.
import { describe, expect, it } from 'vitest';
import { buildArtifact, errorCode, prng, randomBytes, readOutcome, testKeys, type ReadOutcome } from './testing/fixtures';

const SEED = Number(process.env.ARTIFACT_FUZZ_SEED ?? 20240611);
const ROUNDS = Number(process.env.ARTIFACT_FUZZ_ROUNDS ?? 3000);

function mutate(art: Buffer, next: () => number): { bytes: Buffer; what: string } {
  const at = Math.floor(next() * art.length);
  const len = 1 + Math.floor(next() * 16);
  switch (Math.floor(next() * 5)) {
    case 0: {
      const copy = Buffer.from(art);
      copy[at] ^= 1 << Math.floor(next() * 8);
      return { bytes: copy, what: `flip bit at ${at}` };
    }
    case 1:
      return { bytes: Buffer.concat([art.subarray(0, at), randomBytes(next, len), art.subarray(at)]), what: `insert ${len} at ${at}` };
    case 2:
      return { bytes: Buffer.concat([art.subarray(0, at), art.subarray(at + len)]), what: `delete ${len} at ${at}` };
    case 3: {
      const copy = Buffer.from(art);
      randomBytes(next, len).copy(copy, at);
      return { bytes: copy, what: `overwrite ${len} at ${at}` };
    }
    default:
      return { bytes: art.subarray(0, at), what: `truncate at ${at}` };
  }
}

function bounded(p: Promise<ReadOutcome>, ms: number, what: string): Promise<ReadOutcome> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<ReadOutcome>((_, reject) => (timer = setTimeout(() => reject(new Error(`read hung for ${ms} ms: ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

describe('mutation fuzz', () => {
  it(`refuses ${ROUNDS} mutated artifacts without a crash, a hang or a false delivery`, { timeout: 60_000 }, async () => {
    const [trusted] = testKeys();
    const data = [Buffer.concat([randomBytes(prng(1), 600), Buffer.alloc(1500, 0x41)]), randomBytes(prng(2), 700)];
    const art = await buildArtifact({
      name: 'fuzz',
      version: '1.0.0',
      deviceTypes: ['pi'],
      signingKey: trusted.privateKeyPem,
      payloads: [
        { type: 'rootfs-image', name: 'a', data: data[0], compression: 'gzip' },
        { type: 'app', name: 'b', data: data[1], compression: 'none' },
      ],
    });
    expect(errorCode((await readOutcome(art)).error)).toBe('accepted');

    const next = prng(SEED);
    const codes = new Map<string, number>();
    const chunkSizes = [7, 512, 4096, 65536];
    for (let round = 0; round < ROUNDS; round++) {
      const { bytes, what } = mutate(art, next);
      if (bytes.equals(art)) continue;
      const label = `seed ${SEED} round ${round}: ${what}`;
      const r = await bounded(readOutcome(bytes, { chunkSize: chunkSizes[round % chunkSizes.length] }), 2000, label);
      const code = errorCode(r.error);
      if (code === 'accepted' || code.startsWith('non-artifact')) expect.fail(`${label}: ${code}`);
      for (const d of r.deliveries) if (d.ended && !d.bytes.equals(data[d.index])) expect.fail(`${label}: payload ${d.index} delivered altered bytes as verified`);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    // The mutations reach every layer, not only the first header.
    for (const code of ['malformed', 'truncated', 'bad-signature', 'payload-hash-mismatch']) expect(codes.get(code) ?? 0).toBeGreaterThan(10);
  });
});
