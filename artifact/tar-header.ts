// POSIX ustar headers (512-byte blocks), the small subset we need: regular
// files, directories and symbolic links, names up to 255 bytes through the
// prefix field, and GNU base-256 sizes for entries of 8 GiB and more.
import { ArtifactError } from './errors';

export const BLOCK = 512;
const MAX_OCTAL_SIZE = 8 ** 11 - 1;

export type TarEntryType = 'file' | 'directory' | 'symlink';

export interface TarHeader {
  name: string;
  size: number;
  mode: number;
  mtime: number; // seconds since the epoch
  type: TarEntryType;
  linkname: string;
}

const TYPE_FLAGS: Record<TarEntryType, string> = { file: '0', directory: '5', symlink: '2' };

/** Bytes of padding after `size` bytes of entry data. */
export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  // width-1 octal digits then NUL, as GNU tar and bsdtar write them.
  const text = value.toString(8).padStart(width - 1, '0');
  if (text.length > width - 1) throw new ArtifactError('too-large', `tar field value ${value} does not fit ${width - 1} octal digits`);
  block.write(text, offset, width - 1, 'ascii');
  block[offset + width - 1] = 0;
}

function writeSize(block: Buffer, size: number): void {
  if (size <= MAX_OCTAL_SIZE) return writeOctal(block, 124, 12, size);
  // GNU base-256: high bit of the first byte set, big-endian value after it.
  block.fill(0, 124, 136);
  block[124] = 0x80;
  let rest = BigInt(size);
  for (let i = 135; i > 124; i--) {
    block[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

function splitName(name: string): { prefix: string; base: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', base: name };
  // ustar: prefix (<=155 bytes) + '/' + name (<=100 bytes), split at a slash.
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100 && base.length > 0) return { prefix, base };
  }
  throw new ArtifactError('too-large', `path too long for a ustar header (at most 255 bytes, split at a slash): ${name}`);
}

export function encodeHeader(h: TarHeader): Buffer {
  const block = Buffer.alloc(BLOCK);
  const { prefix, base } = splitName(h.name);
  if (Buffer.byteLength(h.linkname) > 100) throw new ArtifactError('too-large', `symlink target too long for ustar (100 bytes): ${h.linkname}`);
  block.write(base, 0, 100, 'utf8');
  writeOctal(block, 100, 8, h.mode & 0o7777);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeSize(block, h.size);
  writeOctal(block, 136, 12, h.mtime);
  block.write(TYPE_FLAGS[h.type], 156, 1, 'ascii');
  block.write(h.linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'ascii');
  writeOctal(block, 329, 8, 0); // devmajor
  writeOctal(block, 337, 8, 0); // devminor
  block.write(prefix, 345, 155, 'utf8');
  block.fill(0x20, 148, 156);
  writeOctal(block, 148, 7, checksum(block));
  block[155] = 0x20;
  return block;
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum;
}

function readString(block: Buffer, offset: number, width: number): string {
  const field = block.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? width : end).toString('utf8');
}

function readOctal(block: Buffer, offset: number, width: number, what: string): number {
  const text = readString(block, offset, width).trim();
  if (!/^[0-7]*$/.test(text)) throw new ArtifactError('malformed', `tar header: ${what} field is not octal`);
  return text === '' ? 0 : parseInt(text, 8);
}

function readSize(block: Buffer): number {
  if ((block[124] & 0x80) === 0) return readOctal(block, 124, 12, 'size');
  if (block[124] !== 0x80) throw new ArtifactError('malformed', 'tar header: negative or oversized base-256 size');
  let value = 0n;
  for (let i = 125; i < 136; i++) value = (value << 8n) | BigInt(block[i]);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ArtifactError('too-large', 'tar header: entry size beyond 2^53');
  return Number(value);
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Parses one header block; checks the checksum and the ustar magic. */
export function decodeHeader(block: Buffer): TarHeader {
  if (block.length !== BLOCK) throw new ArtifactError('truncated', 'tar header shorter than 512 bytes');
  const stored = readOctal(block, 148, 8, 'checksum');
  if (stored !== checksum(block)) throw new ArtifactError('malformed', 'tar header checksum does not match its bytes');
  if (block.toString('ascii', 257, 262) !== 'ustar') throw new ArtifactError('malformed', 'tar header is not ustar');
  const flag = String.fromCharCode(block[156]);
  const type = flag === '0' || flag === '\0' ? 'file' : flag === '5' ? 'directory' : flag === '2' ? 'symlink' : null;
  if (type === null) throw new ArtifactError('malformed', `tar entry type '${flag}' is not supported (only files, directories, symlinks)`);
  const prefix = readString(block, 345, 155);
  const base = readString(block, 0, 100);
  return {
    name: prefix ? `${prefix}/${base}` : base,
    size: type === 'file' ? readSize(block) : 0,
    mode: readOctal(block, 100, 8, 'mode'),
    mtime: readOctal(block, 136, 12, 'mtime'),
    type,
    linkname: readString(block, 157, 100),
  };
}
