// The "Tampering" proof of issue #3: every altered artifact is refused with
// the code naming the failed check, and nothing altered is delivered as
// verified (a payload stream that ended carries exactly the original bytes).
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { checkCompatibility } from './check-compatibility';
import { VERSION_BYTES } from './format';
import { groupVersionKey, serializeManifest, type Manifest } from './manifest';
import { serializeSignature, signManifest } from './signature';
import { assemble, buildArtifact, errorCode, listEntries, prng, randomBytes, readOutcome, testKeys, type ReadOutcome } from './testing/fixtures';

const [trusted, untrusted] = testKeys();
const rand = prng(11);
const originals = [randomBytes(rand, 5000), randomBytes(rand, 3000), Buffer.alloc(6000, 0x5a)];
let art: Buffer;

beforeAll(async () => {
  art = await buildArtifact({
    name: 'os',
    version: '2.0.0',
    deviceTypes: ['pi'],
    signingKey: trusted.privateKeyPem,
    payloads: [
      { type: 'rootfs-image', name: 'rootfs.img', data: originals[0], compression: 'gzip' },
      { type: 'module:modem', name: 'fw.bin', data: originals[1], compression: 'none' },
      { type: 'app', name: 'app.tar', data: originals[2], compression: 'zstd' },
    ],
  });
});

function flip(at: number): Buffer {
  const copy = Buffer.from(art);
  copy[at] ^= 0x01;
  return copy;
}

/** Replaces one character with another valid one of the same alphabet. */
function substitute(at: number): Buffer {
  const copy = Buffer.from(art);
  copy[at] = copy[at] === 0x30 ? 0x31 : 0x30; // '0' <-> '1': valid hex and base64
  return copy;
}

function entry(name: string) {
  const e = listEntries(art).find((x) => x.name === name);
  if (!e) throw new Error(`no entry ${name}`);
  return e;
}

/** Nothing altered was delivered as verified. */
function expectNothingFalseDelivered(r: ReadOutcome): void {
  for (const d of r.deliveries) if (d.ended) expect(d.bytes.equals(originals[d.index])).toBe(true);
}

async function refused(bytes: Buffer, code: string, opts: Parameters<typeof readOutcome>[1] = {}): Promise<ReadOutcome> {
  const r = await readOutcome(bytes, opts);
  expect(errorCode(r.error)).toBe(code);
  expectNothingFalseDelivered(r);
  return r;
}

describe('tampering', () => {
  it('the untouched artifact is accepted', async () => {
    const r = await readOutcome(art);
    expect(errorCode(r.error)).toBe('accepted');
    expect(r.deliveries.map((d) => d.ended)).toEqual([true, true, true]);
  });

  it('a flipped byte in the version entry is malformed; no payload is offered', async () => {
    const r = await refused(flip(entry('version').dataOffset + 3), 'malformed');
    expect(r.deliveries).toHaveLength(0);
  });

  it('a version entry of another format version is unsupported', async () => {
    const other = Buffer.from(VERSION_BYTES.toString().replace('"version":1', '"version":2'));
    const bytes = Buffer.concat([assemble([['version', other]], false), art.subarray(entry('manifest.json').headerOffset)]);
    await refused(bytes, 'unsupported-version');
  });

  it('a flipped byte anywhere in the manifest breaks the signature', async () => {
    const m = entry('manifest.json');
    for (const at of [0, 1, Math.floor(m.size / 2), m.size - 2, m.size - 1]) {
      const r = await refused(flip(m.dataOffset + at), 'bad-signature');
      expect(r.deliveries).toHaveLength(0);
    }
  });

  it('a flipped byte in the signature value is a bad signature, in the key id an untrusted key', async () => {
    const s = entry('manifest.sig');
    const text = art.toString('utf8', s.dataOffset, s.dataOffset + s.size);
    await refused(substitute(s.dataOffset + text.indexOf('"signature":"') + 20), 'bad-signature');
    await refused(substitute(s.dataOffset + text.indexOf('"keyId":"') + 12), 'untrusted-key');
    await refused(flip(s.dataOffset + 1), 'malformed'); // JSON syntax
  });

  it('a flipped byte in any tar header is malformed', async () => {
    for (const e of listEntries(art)) {
      for (const at of [0, 100, 124 + 5, 148, 257]) await refused(flip(e.headerOffset + at), 'malformed');
    }
  });

  it.each([
    [0, 'gzip'],
    [1, 'uncompressed'],
    [2, 'zstd'],
  ])('a flipped byte in payload %i (%s) is a hash mismatch; that payload never ends', async (index) => {
    const e = entry(listEntries(art)[3 + index].name);
    for (const at of [0, Math.floor(e.size / 2), e.size - 1]) {
      const r = await refused(flip(e.dataOffset + at), 'payload-hash-mismatch');
      expect(r.deliveries.find((d) => d.index === index)?.ended ?? false).toBe(false);
      expect(r.deliveries.some((d) => d.index > index)).toBe(false);
    }
  });

  it('padding bytes and the end marker must be zero', async () => {
    const last = listEntries(art).at(-1)!;
    await refused(flip(last.dataOffset + last.size + 1), 'malformed');
    await refused(flip(art.length - 1), 'malformed');
  });

  it('truncation at any offset is reported as truncated', async () => {
    const cuts = new Set<number>([0, 1, 511, 512, art.length - 1, art.length - 512, art.length - 1024]);
    for (let at = 7; at < art.length; at += 211) cuts.add(at);
    for (const e of listEntries(art)) for (const d of [-1, 0, 1, 512]) cuts.add(e.headerOffset + d);
    for (const at of [...cuts].filter((c) => c >= 0 && c < art.length)) {
      const r = await readOutcome(art.subarray(0, at));
      expect(`${at}: ${errorCode(r.error)}`).toBe(`${at}: truncated`);
      expectNothingFalseDelivered(r);
    }
  });

  it('bytes after the end marker are trailing data', async () => {
    await refused(Buffer.concat([art, Buffer.from('x')]), 'trailing-data');
    await refused(Buffer.concat([art, Buffer.alloc(512)]), 'trailing-data');
  });

  it('an extra entry after the payloads, a reordered or a missing payload are refused', async () => {
    const entries = listEntries(art);
    const end = art.length - 1024;
    const extra = Buffer.concat([art.subarray(0, end), assemble([['payloads/0003.gz', Buffer.from('more')]])]);
    await refused(extra, 'unexpected-entry');
    const [p0, p1] = [entries[3], entries[4]];
    const swapped = Buffer.concat([art.subarray(0, p0.headerOffset), art.subarray(p1.headerOffset, entries[5].headerOffset), art.subarray(p0.headerOffset, p1.headerOffset), art.subarray(entries[5].headerOffset)]);
    await refused(swapped, 'unexpected-entry');
    const missing = Buffer.concat([art.subarray(0, entries[5].headerOffset), art.subarray(end)]);
    await refused(missing, 'missing-entry');
    const noSig = Buffer.concat([art.subarray(0, entries[2].headerOffset), art.subarray(entries[3].headerOffset)]);
    await refused(noSig, 'unsigned');
  });

  it('an artifact signed by an untrusted key is refused before any payload', async () => {
    const r = await refused(art, 'untrusted-key', { trustedKeys: [untrusted.publicKeyPem] });
    expect(r.deliveries).toHaveLength(0);
    await refused(art, 'untrusted-key', { trustedKeys: [] });
  });

  it('an incompatible device type or a downgrade stops the read before any payload', async () => {
    const device = (deviceType: string, installed: string) => ({ onManifest: (m: Manifest) => void checkCompatibility(m, { deviceType, provides: { [groupVersionKey('os')]: installed } }) });
    let r = await refused(art, 'incompatible', device('x86', '1.0.0'));
    expect(r.deliveries).toHaveLength(0);
    r = await refused(art, 'downgrade', device('pi', '2.0.1'));
    expect(r.deliveries).toHaveLength(0);
  });
});

describe('signed but inconsistent artifacts (a buggy or hostile signer)', () => {
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  function signed(payloads: Array<{ data: Buffer; stored: Buffer; compression: string; file: string }>, extra: Partial<Manifest> = {}): Buffer {
    const manifest = {
      name: 'x',
      version: '1',
      group: 'x',
      deviceTypes: ['pi'],
      provides: {},
      depends: {},
      clearsProvides: [],
      hooks: {},
      payloads: payloads.map((p, index) => ({ index, type: 'rootfs-image', name: 'r', file: p.file, size: p.data.length, sha256: sha(p.data), compression: p.compression, storedSize: p.stored.length, storedSha256: sha(p.stored), meta: null })),
      ...extra,
    } as Manifest;
    const mBytes = serializeManifest(manifest);
    return assemble([
      ['version', VERSION_BYTES],
      ['manifest.json', mBytes],
      ['manifest.sig', serializeSignature(signManifest(mBytes, trusted.privateKeyPem))],
      ...payloads.map((p): [string, Buffer] => [p.file, p.stored]),
    ]);
  }

  it('unknown compression', async () => {
    const d = Buffer.from('abc');
    await refused(signed([{ data: d, stored: d, compression: 'lz4', file: 'payloads/0000.lz4' }]), 'unknown-compression');
  });

  it('a payload that decompresses to more than its stated size', async () => {
    const big = Buffer.alloc(100_000);
    const lie = signed([{ data: Buffer.alloc(10), stored: gzipSync(big), compression: 'gzip', file: 'payloads/0000.gz' }]);
    const r = await refused(lie, 'payload-size-mismatch');
    expect(r.deliveries[0].ended).toBe(false);
  });

  it('a payload whose uncompressed hash differs from the manifest', async () => {
    const real = Buffer.from('real bytes');
    const stored = gzipSync(real);
    const m = signed([{ data: Buffer.from('other byte'), stored, compression: 'gzip', file: 'payloads/0000.gz' }]);
    const r = await readOutcome(m);
    expect(errorCode(r.error)).toBe('payload-hash-mismatch');
    expect(r.deliveries[0].ended).toBe(false);
  });

  it('stored bytes that match their hash but do not decompress', async () => {
    const junk = Buffer.from('this is not gzip data at all');
    await refused(signed([{ data: Buffer.from('x'), stored: junk, compression: 'gzip', file: 'payloads/0000.gz' }]), 'payload-corrupt');
    await refused(signed([{ data: Buffer.from('x'), stored: junk, compression: 'zstd', file: 'payloads/0000.zst' }]), 'payload-corrupt');
  });

  it('a manifest over the size limit is refused from its header alone', async () => {
    const huge = assemble([['version', VERSION_BYTES], ['manifest.json', Buffer.alloc(1024 * 1024 + 1, 0x20)]]);
    await refused(huge, 'too-large');
  });
});
