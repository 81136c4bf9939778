// Reading and writing the artifact's own tar entries. Artifact entries have
// one canonical header form (mode 0644, owner 0, mtime 0, ustar), zero
// padding and exactly two zero blocks at the end, so every byte of an
// artifact is fixed by its contents and readers refuse any other form.
import { ArtifactError } from './errors';
import { BLOCK, decodeHeader, encodeHeader, isZeroBlock, paddingFor } from './tar-header';
import type { ByteReader } from './byte-reader';

export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

export function entryHeader(name: string, size: number): Buffer {
  return encodeHeader({ name, size, mode: 0o644, mtime: 0, type: 'file', linkname: '' });
}

export function entryPadding(size: number): Buffer {
  return Buffer.alloc(paddingFor(size));
}

export interface EntryHeader {
  name: string;
  size: number;
  /** Stream offset of the header block. */
  offset: number;
}

/** The next entry's header, or null at a (complete) end-of-archive marker. */
export async function readEntryHeader(reader: ByteReader, expecting: string): Promise<EntryHeader | null> {
  const offset = reader.offset;
  const block = await reader.readExact(BLOCK, `the tar header of ${expecting}`);
  if (isZeroBlock(block)) {
    const second = await reader.readExact(BLOCK, 'the end-of-archive marker');
    if (!isZeroBlock(second)) throw new ArtifactError('malformed', `byte ${offset + BLOCK}: end-of-archive marker is not two zero blocks`);
    return null;
  }
  const h = decodeHeader(block);
  let canonical: Buffer | null = null;
  try {
    canonical = h.type === 'file' ? entryHeader(h.name, h.size) : null;
  } catch {
    canonical = null;
  }
  if (!canonical?.equals(block)) throw new ArtifactError('malformed', `byte ${offset}: tar header of ${JSON.stringify(h.name)} is not in the canonical artifact form`);
  return { name: h.name, size: h.size, offset };
}

/** Reads and checks the zero padding after an entry of `size` bytes. */
export async function readEntryPadding(reader: ByteReader, size: number, name: string): Promise<void> {
  const pad = await reader.readExact(paddingFor(size), `the padding of ${name}`);
  if (!isZeroBlock(pad)) throw new ArtifactError('malformed', `padding after ${name} is not zero bytes`);
}

/** Reads a small entry that must come next, with a size limit checked before reading it. */
export async function readSmallEntry(reader: ByteReader, name: string, limit: number): Promise<Buffer> {
  const h = await readEntryHeader(reader, name);
  return readSmallEntryBody(reader, h, name, limit);
}

export async function readSmallEntryBody(reader: ByteReader, h: EntryHeader | null, name: string, limit: number): Promise<Buffer> {
  if (h === null) throw new ArtifactError('missing-entry', `archive ends before ${name}`);
  if (h.name !== name) throw new ArtifactError('unexpected-entry', `expected ${name}, found ${JSON.stringify(h.name)}`);
  if (h.size > limit) throw new ArtifactError('too-large', `${name} is ${h.size} bytes; the limit is ${limit}`);
  const body = await reader.readExact(h.size, name);
  await readEntryPadding(reader, h.size, name);
  return body;
}
